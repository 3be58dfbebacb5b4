import { randomUUID } from 'node:crypto';
import { UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Requester } from '../../src/core/budget.js';
import type { JobData } from '../../src/core/jobs.js';
import { BudgetReservations, ORPHAN_GRACE_MS } from '../../src/queue/budget-reservations.js';
import { JobProducer } from '../../src/queue/job-producer.js';
import { Ledger } from '../../src/queue/ledger.js';
import { QUEUE_NAMES } from '../../src/queue/queue-names.js';
import { RedisKeys } from '../../src/queue/redis-keys.js';
import { type Harness, slashReply, startHarness, waitForFailure } from '../helpers/lorabot-harness.js';
import { deleteByPrefix, redisUrl } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

const NOTHING = { user: 0, channel: 0, workspace: 0 };

describe('budget reservations end with their job (Slack, real worker)', () => {
  let h: Harness;
  let redis: Redis;
  let reservations: BudgetReservations;
  let ledger: Ledger;

  beforeAll(async () => {
    h = await startHarness({ configExtra: ['budgets:', '  user_per_day_usd: 1.00'].join('\n') });
    redis = new Redis(h.redisUrl);
    reservations = new BudgetReservations(redis, new RedisKeys(h.prefix));
    ledger = new Ledger(redis, new RedisKeys(h.prefix));
  });

  afterAll(async () => {
    redis.disconnect();
    await h.close();
  });

  const who = (channelId: string): Requester => ({
    platform: 'slack',
    workspaceId: h.slack.teamId,
    channelId,
    userId: 'U0PANDA',
  });

  /** Queues one image with the image worker paused, so it stays waiting; returns its job id. */
  async function queuedImage(channel: string): Promise<string> {
    await h.running.workers!.image.pause();
    await h.slash({ channel_id: channel, command: '/flux', text: 'held --size 1024x768' });
    const [job] = await waitFor('the queued job', async () => {
      const jobs = await h.running.producer!.jobsOf(who(channel));
      return jobs.length > 0 ? jobs : undefined;
    });
    return job!.jobId;
  }

  it('a done job’s reservation becomes its real charge: nothing left waiting', async () => {
    await h.slash({ channel_id: 'C0SETTLE', command: '/flux', text: 'settled --size 1024x768' });
    await waitFor('the image', () => h.slack.parents('C0SETTLE')[0]?.text.includes('Done'));
    expect(await reservations.waiting(who('C0SETTLE'))).toEqual(NOTHING);
    expect((await ledger.spend(who('C0SETTLE'), Date.now())).channelMonth).toBe(35_000);
  });

  it('a queued job shows as waiting in /flux usage, and Cancel gives its reservation back', async () => {
    const jobId = await queuedImage('C0CANCEL');
    expect((await reservations.waiting(who('C0CANCEL'))).channel).toBe(35_000);
    const usage = await slashReply(h, { channel_id: 'C0CANCEL', command: '/flux', text: 'usage' });
    expect(String(usage.body.text)).toMatch(/^You: \$0\.035 of \$1\.00 today \(\+\$0\.035 waiting\)/);
    await h.press({ actionId: 'lorabot_cancel', value: jobId, channelId: 'C0CANCEL' });
    await waitFor('the reservation released', async () => {
      const waiting = await reservations.waiting(who('C0CANCEL'));
      return waiting.channel === 0;
    });
    expect(await reservations.jobsOf(who('C0CANCEL'))).toBe(0);
    h.running.workers!.image.resume();
  });

  it('a failed job gives its reservation back and charges nothing', async () => {
    h.together.inject('/images/generations', { kind: 'status', status: 401 });
    await h.slash({ channel_id: 'C0FAIL', command: '/flux', text: 'fails --size 1024x768' });
    await waitForFailure(h, 'C0FAIL', '/flux');
    expect(await reservations.waiting(who('C0FAIL'))).toMatchObject({ channel: 0 });
    expect((await ledger.spend(who('C0FAIL'), Date.now())).channelMonth).toBe(0);
  });

  it('a request that could not be queued (its status message failed) gives its reservation back', async () => {
    h.slack.inject('chat.postMessage', { kind: 'error', error: 'channel_not_found' });
    const told = await slashReply(h, {
      channel_id: 'C0UNDO',
      command: '/flux',
      text: 'undone --size 1024x768',
    });
    expect(String(told.body.text)).toMatch(
      /^lorabot is not in this channel.*Nothing was queued or charged\.$/,
    );
    expect(await reservations.waiting(who('C0UNDO'))).toMatchObject({ channel: 0 });
    expect(await reservations.jobsOf(who('C0UNDO'))).toBe(0);
  });

  it('the reservation of a job removed from Redis expires: the sweep releases it once the grace has passed', async () => {
    const jobId = await queuedImage('C0ORPHAN');
    await h.running.producer!.queues.image.remove(jobId);
    const ended = (id: string, kind: JobData['kind']) => h.running.producer!.jobEnded(id, kind);
    // Within the grace the gateway may still be queueing it: kept.
    expect(await reservations.sweep(ended, Date.now())).toBe(0);
    expect((await reservations.waiting(who('C0ORPHAN'))).channel).toBe(35_000);
    expect(await reservations.sweep(ended, Date.now() + ORPHAN_GRACE_MS)).toBe(1);
    expect(await reservations.waiting(who('C0ORPHAN'))).toMatchObject({ channel: 0 });
    expect(await reservations.jobsOf(who('C0ORPHAN'))).toBe(0);
    h.running.workers!.image.resume();
  });
});

describe('the sweep and jobs BullMQ ends by itself', () => {
  const prefix = `{lorabot-test-${randomUUID().slice(0, 8)}}`;
  const keys = new RedisKeys(prefix);
  let redis: Redis;
  let producer: JobProducer;

  beforeAll(async () => {
    redis = new Redis(redisUrl(), { maxRetriesPerRequest: null });
    producer = new JobProducer(redis, keys, {
      attempts: 1,
      backoffMs: 100,
      keepCompletedSeconds: 60,
      keepFailedSeconds: 60,
    });
  });

  afterAll(async () => {
    await producer.close();
    await deleteByPrefix(redis, prefix);
    redis.disconnect();
  });

  it('releases at once what a failed job holds (no grace), and keeps what a waiting job holds', async () => {
    const reservations = new BudgetReservations(redis, keys);
    const requester: Requester = { platform: 'slack', workspaceId: 'T1', channelId: 'C1', userId: 'U1' };
    const data = (prompt: string): JobData => ({
      kind: 'flux',
      command: `/flux ${prompt}`,
      body: { prompt },
      estimateMicros: 35_000,
      receivedAt: Date.now(),
      request: { prompt, loras: [], width: 512, height: 512, steps: 28, n: 1 },
      target: { platform: 'slack', workspaceId: 'T1', channelId: 'C1', userId: 'U1', parentTs: '1.1' },
    });
    for (const id of ['fails', 'waits']) {
      const admitted = await reservations.admit(id, {
        requester,
        kind: 'flux',
        estimate: 35_000,
        now: Date.now(),
      });
      expect(admitted.ok).toBe(true);
    }
    await producer.enqueue('fails', data('fails'), { priority: 1 });
    // A worker that is not lorabot's: BullMQ fails the job without lorabot's failure path.
    const failed = new Promise<void>((resolve) => {
      const worker = new Worker(
        QUEUE_NAMES.image,
        async () => {
          throw new UnrecoverableError('failed outside lorabot');
        },
        { connection: redis.duplicate(), prefix },
      );
      worker.on('failed', async () => {
        await worker.close();
        resolve();
      });
    });
    await failed;
    await producer.enqueue('waits', data('waits'), { priority: 2 });
    const ended = (id: string, kind: JobData['kind']) => producer.jobEnded(id, kind);
    expect(await reservations.sweep(ended, Date.now())).toBe(1);
    expect(await reservations.waiting(requester)).toEqual({
      user: 35_000,
      channel: 35_000,
      workspace: 35_000,
    });
    expect(await reservations.jobsOf(requester)).toBe(1);
  });

  it('settles a reservation in the ledger’s charge script: a retried charge neither charges nor releases twice', async () => {
    const reservations = new BudgetReservations(redis, keys);
    const ledger = new Ledger(redis, keys);
    const requester: Requester = { platform: 'slack', workspaceId: 'T2', channelId: 'C2', userId: 'U2' };
    await reservations.admit('other', { requester, kind: 'flux', estimate: 35_000, now: Date.now() });
    await reservations.admit('charged', { requester, kind: 'ask', estimate: 206, now: Date.now() });
    const entry = {
      jobId: 'charged',
      at: new Date().toISOString(),
      ...requester,
      kind: 'ask' as const,
      model: 'm',
      micros: 12,
      status: 'charged' as const,
      costText: 'Cost: $0.000012',
    };
    const held = await reservations.held('charged');
    expect(await ledger.charge(entry, held)).toBe(true);
    // The same attempt again (a worker that died after the charge): the stale reservation keys change nothing.
    expect(await ledger.charge(entry, held)).toBe(false);
    expect(await ledger.charge(entry, await reservations.held('charged'))).toBe(false);
    expect(await reservations.waiting(requester)).toEqual({
      user: 35_000,
      channel: 35_000,
      workspace: 35_000,
    });
    expect((await ledger.spend(requester, Date.now())).userDay).toBe(12);
    expect(await reservations.jobsOf(requester)).toBe(1);
  });

  it('tells a new job its place by priority: behind every queued job of its priority or lower, ahead of the rest', async () => {
    // Queued: `waits` at priority 2 (the test above).
    expect(await producer.position('flux', 1)).toBe(1);
    expect(await producer.position('flux', 2)).toBe(2);
    expect(await producer.position('flux', 5)).toBe(2);
    expect(await producer.position('flux')).toBe(2);
  });
});
