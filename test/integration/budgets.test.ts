import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/cli.js';
import { type Harness, startHarness } from '../helpers/lorabot-harness.js';
import { waitFor } from '../helpers/wait.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    configExtra: [
      'budgets:',
      '  user_per_day_usd: 0.10',
      '  channel_per_month_usd: 5',
      '  workspace_per_month_usd: 50',
    ].join('\n'),
  });
});

afterAll(async () => {
  await h.close();
});

function privateReplies(text: RegExp) {
  return h.slack.responses.filter(
    (r) => r.body.response_type === 'ephemeral' && text.test(String(r.body.text)),
  );
}

describe('budgets and usage (Slack)', () => {
  it('blocks the 3rd image of the day past a $0.10 daily budget, stating spend and limit; nothing queued', async () => {
    const channel = 'C0BUDGET';
    for (let i = 1; i <= 2; i++) {
      await h.slash({
        channel_id: channel,
        user_id: 'U0SPENDER',
        command: '/flux',
        text: `budget ${i} --size 1024x768`,
      });
      await waitFor(`image ${i}`, () => h.slack.parents(channel)[i - 1]?.text.includes('Done'));
    }
    await h.slash({
      channel_id: channel,
      user_id: 'U0SPENDER',
      command: '/flux',
      text: 'budget 3 --size 1024x768',
    });
    const refusal = await waitFor('the refusal', () => privateReplies(/Over budget/)[0]);
    expect(refusal.body.text).toBe(
      'Over budget: You have spent $0.07 of your daily budget of $0.10, and this request may cost $0.035. Nothing was queued or charged. Ask an admin to raise the budget, or try later.',
    );
    await new Promise((r) => setTimeout(r, 200));
    expect(h.slack.parents(channel)).toHaveLength(2);
    expect(h.together.calls.filter((c) => JSON.stringify(c.body).includes('budget 3'))).toHaveLength(0);
    // Someone else in the same channel still has budget.
    await h.slash({
      channel_id: channel,
      user_id: 'U0OTHER',
      command: '/flux',
      text: 'budget other --size 1024x768',
    });
    await waitFor('the other person’s image', () => h.slack.parents(channel)[2]?.text.includes('Done'));
  });

  it('shows spend with /flux usage', async () => {
    await h.slash({ channel_id: 'C0BUDGET', user_id: 'U0SPENDER', command: '/flux', text: 'usage' });
    const usage = await waitFor('the usage reply', () => privateReplies(/^You: /)[0]);
    expect(usage.body.text).toBe(
      'You: $0.07 of $0.10 today, $0.07 this month.\nThis channel: $0.105 of $5.00 this month.\nThis workspace: $0.105 of $50.00 this month.',
    );
  });

  it('lists presets and models', async () => {
    const presets = await h.slash({ channel_id: 'C0BUDGET', command: '/flux', text: 'presets' });
    expect(presets.text).toBe('');
    const list = await waitFor('the presets reply', () => privateReplies(/^LoRA presets/)[0]);
    expect(list.body.text).toContain(
      '• tarot: scale 0.9, trigger "in the style of TOK a trtcrd tarot style"',
    );
    await h.slash({ channel_id: 'C0BUDGET', command: '/ask', text: 'models' });
    const models = await waitFor('the models reply', () => privateReplies(/^Chat models/)[0]);
    expect(models.body.text).toContain(
      '• default (default): Llama 3.1 8B Instruct Turbo, up to 1024 tokens, $0.18 in / $0.18 out per 1M tokens',
    );
  });

  it('exports the month as CSV with lorabot usage --csv', async () => {
    let stdout = '';
    const month = new Date().toISOString().slice(0, 7);
    const code = await main(['usage', '--csv', '--month', month], {
      stdout: (t) => {
        stdout += t;
      },
      stderr: () => {},
      env: { REDIS_URL: h.redisUrl, LORABOT_CONFIG: h.configPath },
      cwd: mkdtempSync(join(tmpdir(), 'lorabot-usage-')),
    });
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toBe(
      'at,job_id,platform,workspace,channel,user,kind,model,usd,status,cost,estimated,note',
    );
    expect(lines).toHaveLength(4);
    expect(lines.filter((l) => l.includes(',U0SPENDER,flux,'))).toHaveLength(2);
    expect(lines[1]).toMatch(/,0\.035000,charged,"?Cost: \$0\.035 \(1 image × 1 MP × \$0\.035\/MP\)"?,no,$/);
  });
});
