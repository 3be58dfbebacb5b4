import { describe, expect, it } from 'vitest';
import { type LedgerEntry, ledgerCsv } from '../../../src/queue/ledger.js';

const entry = (overrides: Partial<LedgerEntry>): LedgerEntry => ({
  jobId: 'job-1',
  at: '2025-01-02T03:04:05.000Z',
  platform: 'slack',
  workspaceId: 'T1',
  channelId: 'C1',
  userId: 'U1',
  kind: 'ask',
  model: 'meta-llama/Llama-3.1-8B',
  micros: 35_000,
  status: 'charged',
  costText: 'Cost: $0.035',
  ...overrides,
});

const row = (overrides: Partial<LedgerEntry>) => ledgerCsv([entry(overrides)]).split('\n')[1];

describe('ledgerCsv', () => {
  it.each([
    ['=', '=HYPERLINK("https://evil.example","x")', `"'=HYPERLINK(""https://evil.example"",""x"")"`],
    ['+', '+1+2', "'+1+2"],
    ['-', '-2+3', "'-2+3"],
    ['@', '@SUM(A1:A2)', "'@SUM(A1:A2)"],
    ['tab', '\t=1+1', "'\t=1+1"],
    ['CR', '\r=1+1', `"'\r=1+1"`],
  ])(
    'prefixes a text cell starting with %s with an apostrophe so a spreadsheet shows it as text',
    (_, model, cell) => {
      expect(row({ model })).toBe(
        `2025-01-02T03:04:05.000Z,job-1,slack,T1,C1,U1,ask,${cell},0.035000,charged,Cost: $0.035,no,`,
      );
    },
  );

  it('neutralises every text column, not only the model', () => {
    expect(row({ userId: '=U1', channelId: '+C1', workspaceId: '-T1', jobId: '@j', costText: '=1' })).toBe(
      "2025-01-02T03:04:05.000Z,'@j,slack,'-T1,'+C1,'=U1,ask,meta-llama/Llama-3.1-8B,0.035000,charged,'=1,no,",
    );
  });

  it('marks estimated amounts and says why an entry is not a plain charge', () => {
    const csv = ledgerCsv([
      entry({
        status: 'possibly-billed',
        note: 'earlier call, possibly billed (worker stopped during the call)',
        callId: 'a1',
      }),
      entry({
        micros: 28,
        status: 'billed-failed',
        estimated: true,
        costText: 'Cost: ~$0.000028 (estimated)',
      }),
    ]);
    const [header, lost, cut] = csv.split('\n');
    expect(header).toBe(
      'at,job_id,platform,workspace,channel,user,kind,model,usd,status,cost,estimated,note',
    );
    expect(lost).toMatch(
      /,0\.035000,possibly-billed,Cost: \$0\.035,no,"earlier call, possibly billed \(worker stopped during the call\)"$/,
    );
    expect(cut).toMatch(/,0\.000028,billed-failed,Cost: ~\$0\.000028 \(estimated\),yes,$/);
  });

  it('leaves the usd amount a plain number and cells that only contain a formula character later untouched', () => {
    expect(row({ micros: 0, model: 'a=b', costText: 'Cost: -$0 (free)' })).toBe(
      '2025-01-02T03:04:05.000Z,job-1,slack,T1,C1,U1,ask,a=b,0.000000,charged,Cost: -$0 (free),no,',
    );
  });
});
