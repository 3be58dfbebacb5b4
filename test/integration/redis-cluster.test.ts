import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Requester } from '../../src/core/budget.js';
import type { IntakeRecord } from '../../src/core/intake.js';
import { BudgetReservations } from '../../src/queue/budget-reservations.js';
import { IntakeStore } from '../../src/queue/intake-store.js';
import { Ledger, type LedgerEntry } from '../../src/queue/ledger.js';
import { createRedis } from '../../src/queue/redis-connection.js';
import { RedisKeys } from '../../src/queue/redis-keys.js';
import { type StoredEvent, WebEventLog } from '../../src/queue/web-events.js';
import { FakeTogether } from '../contract/fakes/fake-together.js';
import { LocalRedisCluster } from '../helpers/local-cluster.js';
import { writeTestConfig } from '../helpers/lorabot-harness.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { createTestRedis, deleteByPrefix, redisClusterAddress, type TestRedis } from '../helpers/redis.js';
import { runCli } from '../helpers/run-cli.js';
import { waitFor } from '../helpers/wait.js';
import { WorkerRig } from '../helpers/worker-rig.js';

const SRC = join(REPO_ROOT, 'src');

/** Every `.ts` file under `dir`. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

const requester: Requester = { platform: 'slack', workspaceId: 'T1', channelId: 'C1', userId: 'U1' };

const charge = (jobId: string, micros: number): LedgerEntry => ({
  jobId,
  at: new Date().toISOString(),
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

describe("lorabot's Lua scripts on a 3-master Redis Cluster", () => {
  let redis: TestRedis;

  beforeAll(async () => {
    redis = await createTestRedis('scripts', 'cluster');
  });

  afterAll(async () => {
    await redis.cleanup();
  });

  it('every script names each key it touches in KEYS: none is built inside a script', () => {
    const withScripts: string[] = [];
    for (const file of sources(SRC)) {
      const text = readFileSync(file, 'utf8');
      const calls = [...text.matchAll(/redis\.call\(\s*'(\w+)'\s*,\s*([^,)]+)/g)];
      if (calls.length === 0) continue;
      withScripts.push(file.slice(SRC.length + 1));
      for (const [call, , key] of calls) expect(key!.trim(), `${file}: ${call}`).toMatch(/^KEYS\[[^\]]+\]$/);
    }
    // The scripts the next test runs on the cluster, the step journal's and the capped list's (run on the cluster
    // by integration/step-journal.test.ts and lua-script.test.ts); a script added elsewhere must be run there too.
    expect(withScripts.sort()).toEqual([
      'queue/budget-reservations.ts',
      'queue/intake-store.ts',
      'queue/ledger.ts',
      'queue/lua-script.ts',
      'queue/step-journal.ts',
    ]);
  });

  it('admits, charges (settling the reservation in the same script) and releases: each script runs in one slot', async () => {
    const keys = new RedisKeys(redis.prefix.slice(0, -1));
    const budgets = { userPerDay: 100_000, channelPerMonth: null, workspacePerMonth: null };
    const admission = new BudgetReservations(redis.client, keys, { budgets, perPersonMaxJobs: 2 });
    const ledger = new Ledger(redis.client, keys);
    const now = Date.now();
    // ADMIT: the cap, then the budget against the ledger's day total, then a reservation.
    expect(await admission.admit('job-a', { requester, kind: 'flux', estimate: 35_000, now })).toEqual({
      ok: true,
      priority: 1,
    });
    expect(await admission.admit('job-b', { requester, kind: 'flux', estimate: 35_000, now })).toEqual({
      ok: true,
      priority: 2,
    });
    const capped = await admission.admit('job-c', { requester, kind: 'flux', estimate: 35_000, now });
    expect(capped).toMatchObject({ ok: false, refusal: { reason: 'cap', jobs: 2 } });
    expect((await admission.waiting(requester)).user).toBe(70_000);
    // CHARGE with RELEASE_FUNCTION: the real cost replaces job-a's estimate atomically.
    expect(await ledger.charge(charge('job-a', 30_000), await admission.held('job-a'))).toBe(true);
    expect(await ledger.charge(charge('job-a', 30_000), await admission.held('job-a'))).toBe(false);
    // RELEASE: job-b will never run.
    await admission.release('job-b');
    expect(await admission.waiting(requester)).toEqual({ user: 0, channel: 0, workspace: 0 });
    expect((await ledger.spend(requester, Date.now())).userDay).toBe(30_000);
    const over = await admission.admit('job-d', { requester, kind: 'flux', estimate: 80_000, now });
    expect(over).toMatchObject({ ok: false, refusal: { reason: 'budget', scope: 'user', spent: 30_000 } });
  });

  it('claims with an intake record, clears it, releases a claim and holds the sweep lease: each script in one slot', async () => {
    const keys = new RedisKeys(redis.prefix.slice(0, -1));
    const intake = new IntakeStore(redis.client, keys);
    const record = {
      requestKey: 'req-1',
      at: 1_000,
      origin: { platform: 'web', sessionId: 's', userId: 'web:u', channelId: 'web', messageId: 'm' },
      view: { jobId: 'req-1', kind: 'flux', command: '/flux a' },
      job: { kind: 'flux', command: '/flux a', body: {}, estimateMicros: 1, receivedAt: 1_000, request: {} },
      requester,
    } as unknown as IntakeRecord;
    const token = { key: keys.interactionToken('req-1'), token: 'tok', lifeMs: 60_000 };
    expect(await intake.claim('req-1', record, token)).toBe(true);
    expect(await intake.claim('req-1', record, token)).toBe(false);
    expect(await intake.claimedBefore(2_000, 10)).toEqual([{ requestKey: 'req-1', at: 1_000 }]);
    expect(await intake.record('req-1')).toEqual(record);
    expect(await redis.client.get(token.key)).toBe('tok');
    await intake.clear('req-1');
    expect(await intake.claimedBefore(2_000, 10)).toEqual([]);
    expect(await intake.claim('req-1')).toBe(false);
    await intake.release('req-1');
    expect(await intake.claim('req-1')).toBe(true);
    expect(await intake.takeLease('a', 10_000)).toBe(true);
    expect(await intake.takeLease('b', 10_000)).toBe(false);
    await intake.returnLease('b');
    expect(await intake.takeLease('b', 10_000)).toBe(false);
    await intake.returnLease('a');
    expect(await intake.takeLease('b', 10_000)).toBe(true);
  });

  it('refuses a script whose keys hash to two slots (CROSSSLOT): what the run above would have met', async () => {
    // The same script with a prefix that is no hash tag: its keys scatter over the cluster's slots.
    const scattered = new BudgetReservations(redis.client, new RedisKeys(`lorabot-test-${randomUUID()}`));
    await expect(
      scattered.admit('job-x', { requester, kind: 'flux', estimate: 1, now: Date.now() }),
    ).rejects.toThrow(/CROSSSLOT/);
  });

  it('follows a web session stream with a blocking read on its own cluster connection', async () => {
    const events = new WebEventLog(redis.client, new RedisKeys(redis.prefix.slice(0, -1)));
    const seen: StoredEvent[] = [];
    const stop = new AbortController();
    const following = events.follow('session-1', '0', {
      deliver: (batch) => seen.push(...batch),
      idle: () => {},
      signal: stop.signal,
    });
    await events.append('session-1', { type: 'first' });
    await events.append('session-1', { type: 'second' });
    await waitFor('both events relayed', () => seen.length === 2);
    expect(seen.map((e) => JSON.parse(e.json).type)).toEqual(['first', 'second']);
    stop.abort();
    await following;
  });
});

describe('cancelling a running job across processes on a Redis Cluster (pub/sub)', () => {
  const rig = new WorkerRig('cluster');

  beforeAll(async () => {
    await rig.start([]);
  }, 60_000);

  afterAll(async () => {
    await rig.close();
  });

  it('the gateway publishes the cancel, the worker process running the job aborts its Together call', async () => {
    rig.together.inject('/images/generations', { kind: 'delay', ms: 10_000 });
    const job = await rig.enqueue('a slow panda', { channel: 'C0CANCEL', userId: 'U0CANCEL' });
    await waitFor('the call held at Together', () => rig.together.inFlight === 1, 20_000);
    expect(await rig.producer.cancel(job.jobId, job.userId)).toBe('stopping');
    await waitFor('cancelled', () => rig.status(job).includes('Cancelled by'), 5_000);
    await waitFor('the Together call aborted', () => rig.together.inFlight === 0, 5_000);
    expect(await rig.entriesOf(job)).toEqual([]);
  }, 40_000);
});

describe('lorabot run on a Redis Cluster', () => {
  it('queues /ask, waits through QueueEvents and prints the answer of the worker it started for it', async () => {
    const together = await new FakeTogether().start();
    const prefix = `{lorabot-test-${randomUUID().slice(0, 8)}}`;
    try {
      const { code, stdout, stderr } = await runCli(['run', '/ask what is a hash slot?'], {
        REDIS_CLUSTER_NODES: inject('redisClusterNodes'),
        TOGETHER_API_KEY: together.apiKey,
        TOGETHER_BASE_URL: together.baseUrl,
        LORABOT_CONFIG: writeTestConfig(prefix),
        LOG_LEVEL: 'silent',
      });
      expect(code, stderr).toBe(0);
      expect(stdout).toContain('You asked: what is a hash slot?');
      expect(together.callsTo('/chat/completions')).toHaveLength(1);
    } finally {
      const cleaner = createRedis(redisClusterAddress(), 'worker', 'test-cleaner');
      await deleteByPrefix(cleaner, prefix);
      cleaner.disconnect();
      await together.close();
    }
  });
});

describe('lorabot doctor on a Redis Cluster', () => {
  it("reports cluster_state, the masters, the slots covered and where lorabot's keys live", async () => {
    const { stdout } = await runCli(['doctor'], { REDIS_CLUSTER_NODES: inject('redisClusterNodes') });
    expect(stdout).toMatch(/^OK {4}redis {5}reachable at Redis Cluster [\w.:,-]+, version \S+$/m);
    expect(stdout).toMatch(/^OK {4}cluster {3}cluster_state ok, \d+ masters?, 16384\/16384 slots covered$/m);
    expect(stdout).toMatch(
      /^OK {4}cluster {3}lorabot's keys \(\{lorabot\}\) live in slot \d+, on [\w.-]+:\d+$/m,
    );
    expect(stdout).not.toMatch(/^FAIL +(redis|cluster)/m);
    if (process.env.REDIS_CLUSTER_NODES) return;
    // The suite's own cluster: 3 masters with noeviction, and no replicas.
    expect(stdout).toMatch(/^OK {4}redis {5}maxmemory-policy is noeviction on all 3 masters$/m);
    expect(stdout).toMatch(/^OK {4}cluster {3}cluster_state ok, 3 masters, /m);
    expect(stdout).toMatch(/^WARN {2}cluster {3}no master has a replica: .* Fix: add a replica per master/m);
  });

  it('fails REDIS_URL set to one node of a cluster, naming REDIS_CLUSTER_NODES', async () => {
    const node = inject('redisClusterNodes').split(',')[0]!;
    const { stdout } = await runCli(['doctor'], { REDIS_URL: `redis://${node}` });
    expect(stdout).toMatch(
      /^FAIL {2}cluster {3}REDIS_URL is one node of a Redis Cluster\. Fix: set REDIS_CLUSTER_NODES=/m,
    );
  });

  it('fails a cluster whose slots no master serves, with the fix', async () => {
    const lone = await new LocalRedisCluster(1).spawnNodes();
    try {
      const { stdout } = await runCli(['doctor'], { REDIS_CLUSTER_NODES: lone.nodes });
      expect(stdout).toMatch(
        /^FAIL {2}cluster {3}cluster_state fail, 0 masters, 0\/16384 slots covered \(asked 127\.0\.0\.1:\d+\): lorabot cannot run until every slot is served\. Fix: create the cluster \(redis-cli --cluster create/m,
      );
    } finally {
      await lone.stop();
    }
  });
});
