import { describe, expect, it } from 'vitest';
import { Ledger, type LedgerEntry } from '../../src/queue/ledger.js';
import { StepJournal } from '../../src/queue/step-journal.js';
import { ON_EACH_REDIS, suiteRedis } from '../helpers/redis.js';

const entry = (jobId: string, micros: number, at = '2026-11-23T10:00:00.000Z'): LedgerEntry => ({
  jobId,
  at,
  platform: 'slack',
  workspaceId: 'T1',
  channelId: 'C1',
  userId: 'U1',
  kind: 'flux',
  model: 'm',
  micros,
  status: 'charged',
  costText: 'Cost: …',
});

describe.each(ON_EACH_REDIS)('on $where', ({ kind }) => {
  const redis = suiteRedis('ledger', kind);
  const { keys } = redis;

  describe('the ledger', () => {
    it('charges a job exactly once, however often it is asked', async () => {
      const ledger = new Ledger(redis.client, keys);
      const results = await Promise.all(
        Array.from({ length: 20 }, () => ledger.charge(entry('job-1', 35_000))),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await ledger.total('user', 'slack:T1:U1', 'day', '2026-11-23')).toBe(35_000);
      expect(await ledger.total('channel', 'slack:T1:C1', 'month', '2026-11')).toBe(35_000);
      expect(await ledger.total('workspace', 'slack:T1', 'month', '2026-11')).toBe(35_000);
      expect(await ledger.entries('2026-11')).toHaveLength(1);
    });

    it('keeps totals by day and month, summing exactly', async () => {
      const ledger = new Ledger(redis.client, keys);
      for (let i = 0; i < 100; i++) await ledger.charge(entry(`sum-${i}`, 54, '2026-12-01T00:00:00.000Z'));
      await ledger.charge(entry('sum-next-day', 1, '2026-12-02T00:00:00.000Z'));
      expect(await ledger.total('user', 'slack:T1:U1', 'day', '2026-12-01')).toBe(5400);
      expect(await ledger.total('user', 'slack:T1:U1', 'day', '2026-12-02')).toBe(1);
      expect(await ledger.total('user', 'slack:T1:U1', 'month', '2026-12')).toBe(5401);
    });

    it('lets day totals expire after 40 days, and month totals with the entries the CSV reads after 400', async () => {
      const ledger = new Ledger(redis.client, keys);
      await ledger.charge(entry('ttl-1', 70_000, '2026-10-05T09:00:00.000Z'));
      const days = 86_400;
      const ttl = (key: string) => redis.client.ttl(key);
      for (const scope of ['user', 'channel', 'workspace'] as const) {
        const id = { user: 'slack:T1:U1', channel: 'slack:T1:C1', workspace: 'slack:T1' }[scope];
        const day = await ttl(keys.ledgerTotal(scope, id, 'day', '2026-10-05'));
        const month = await ttl(keys.ledgerTotal(scope, id, 'month', '2026-10'));
        expect(day, `${scope} day`).toBeGreaterThan(40 * days - 60);
        expect(day, `${scope} day`).toBeLessThanOrEqual(40 * days);
        expect(month, `${scope} month`).toBeGreaterThan(400 * days - 60);
        expect(month, `${scope} month`).toBeLessThanOrEqual(400 * days);
      }
      // The entries (the CSV) live as long as the month's totals: a later charge that month renews both.
      expect(await ttl(keys.ledgerEntries('2026-10'))).toBeGreaterThan(400 * days - 60);
      expect(await ttl(keys.charged('ttl-1'))).toBeGreaterThan(400 * days - 60);
      await redis.client.expire(keys.ledgerEntries('2026-10'), 5);
      await ledger.charge(entry('ttl-2', 1, '2026-10-20T09:00:00.000Z'));
      expect(await ttl(keys.ledgerEntries('2026-10'))).toBeGreaterThan(400 * days - 60);
      expect((await ledger.entries('2026-10')).map((e) => e.jobId)).toEqual(['ttl-1', 'ttl-2']);
    });

    it('charges each lost call once, beside the job, counts it in the totals, and tallies it for /flux usage', async () => {
      const ledger = new Ledger(redis.client, keys);
      const at = '2027-01-05T10:00:00.000Z';
      const lost = (callId: string): LedgerEntry => ({
        ...entry('job-lost', 35_000, at),
        status: 'possibly-billed',
        note: 'earlier call, possibly billed (worker stopped during the call)',
        callId,
      });
      const charges = await Promise.all([
        ...Array.from({ length: 10 }, () => ledger.charge(lost('attempt-a'))),
        ...Array.from({ length: 10 }, () => ledger.charge(lost('attempt-b'))),
        ...Array.from({ length: 10 }, () => ledger.charge(entry('job-lost', 35_000, at))),
      ]);
      expect(charges.filter(Boolean)).toHaveLength(3);
      expect(await ledger.total('user', 'slack:T1:U1', 'day', '2027-01-05')).toBe(105_000);
      const entries = await ledger.entries('2027-01');
      expect(entries.map((e) => e.status).sort()).toEqual(['charged', 'possibly-billed', 'possibly-billed']);
      expect(await ledger.possiblyBilled('user', 'slack:T1:U1', '2027-01')).toEqual({
        count: 2,
        micros: 70_000,
      });
      const spend = await ledger.spend(
        { platform: 'slack', workspaceId: 'T1', channelId: 'C1', userId: 'U1' },
        Date.parse(at),
      );
      expect(spend.userMonth).toBe(105_000);
      expect(spend.possiblyBilled?.workspace).toEqual({ count: 2, micros: 70_000 });
    });
  });

  describe('the step journal', () => {
    it('runs a step once, and again only if it failed', async () => {
      const journal = new StepJournal(redis.client, keys);
      let runs = 0;
      await journal.once('job-9', 'post', async () => {
        runs++;
      });
      await journal.once('job-9', 'post', async () => {
        runs++;
      });
      expect(runs).toBe(1);
      await expect(
        journal.once('job-9', 'fails', async () => {
          throw new Error('Slack is down');
        }),
      ).rejects.toThrow('Slack is down');
      await journal.once('job-9', 'fails', async () => {
        runs++;
      });
      expect(runs).toBe(2);
      expect((await journal.doneSteps('job-9')).sort()).toEqual(['fails', 'post']);
    });

    it('keeps a provider result until it is dropped', async () => {
      const journal = new StepJournal(redis.client, keys);
      await journal.saveCheckpoint('job-10', { text: 'hello' });
      expect(await journal.loadCheckpoint('job-10')).toEqual({ text: 'hello' });
      await journal.dropCheckpoint('job-10');
      expect(await journal.loadCheckpoint('job-10')).toBeUndefined();
    });

    it('keeps a call marked started until its result is saved or it returns, and not after', async () => {
      const journal = new StepJournal(redis.client, keys);
      expect(await journal.startedCall('job-11')).toBeUndefined();
      await journal.startCall('job-11', { attemptId: 'a1', at: 1 });
      expect(await journal.startedCall('job-11')).toEqual({ attemptId: 'a1', at: 1 });
      await journal.saveCheckpoint('job-11', { text: 'done' });
      expect(await journal.startedCall('job-11')).toBeUndefined();
      await journal.startCall('job-12', { attemptId: 'a2', at: 2 });
      await journal.endCall('job-12');
      expect(await journal.startedCall('job-12')).toBeUndefined();
    });
  });
});
