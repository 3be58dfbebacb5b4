import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/adapters/logging/logger.js';
import { WebDeliverer } from '../../src/adapters/web/web-deliverer.js';
import { WebStatusRecovery } from '../../src/adapters/web/web-status.js';
import { pendingJob, planCommand } from '../../src/app/command-plan.js';
import type { Requester } from '../../src/core/budget.js';
import { parseCommand } from '../../src/core/command-parser.js';
import { type IntakeRecord, RECOVER_AFTER_MS } from '../../src/core/intake.js';
import type { WebTarget } from '../../src/core/jobs.js';
import { BudgetReservations } from '../../src/queue/budget-reservations.js';
import { IntakeSweeper } from '../../src/queue/intake-sweeper.js';
import { JobProducer } from '../../src/queue/job-producer.js';
import { RedisKeys } from '../../src/queue/redis-keys.js';
import { WebEventLog } from '../../src/queue/web-events.js';
import { createTestRedis, type TestRedis } from '../helpers/redis.js';
import { testSettings } from '../helpers/settings.js';

/**
 * The worker's recovery sweep on a real Redis and BullMQ queue, posting statuses to the web playground's event
 * streams: what it does with each kind of record a stopped gateway leaves.
 */
let redis: TestRedis;
let keys: RedisKeys;
let producer: JobProducer;
let admission: BudgetReservations;
const requester: Requester = { platform: 'web', workspaceId: 'web', channelId: 'web', userId: 'web:ann' };
const T0 = Date.parse('2026-12-01T12:00:00Z');
const DUE = T0 + RECOVER_AFTER_MS + 1;

beforeAll(async () => {
  redis = await createTestRedis('intake-sweeper');
  keys = new RedisKeys(redis.prefix.slice(0, -1));
  producer = new JobProducer(redis.client, keys, {
    attempts: 1,
    backoffMs: 100,
    keepCompletedSeconds: 60,
    keepFailedSeconds: 60,
  });
  // $0.10 a day: one 1024x1024 image of the test settings ($0.07) fits, two do not.
  const budgets = { userPerDay: 100_000, channelPerMonth: null, workspacePerMonth: null };
  admission = new BudgetReservations(redis.client, keys, { budgets, perPersonMaxJobs: null });
});

afterAll(async () => {
  await producer.close();
  await redis.cleanup();
});

function sweeper(holder: string, now: number): IntakeSweeper {
  const events = new WebEventLog(redis.client, keys);
  const recovery = new WebStatusRecovery(new WebDeliverer(events), events);
  return new IntakeSweeper({
    intake: producer.intake,
    producer,
    admission,
    recovery: { web: recovery },
    logger: createLogger('silent'),
    holder,
    now: () => now,
  });
}

/** A web `/flux` request claimed at T0 with its record, as a gateway claims it. */
async function claimed(requestKey: string, text: string): Promise<IntakeRecord> {
  const parsed = parseCommand('flux', text, testSettings());
  if (!parsed.success || parsed.data.kind !== 'flux') throw new Error('bad command');
  const plan = planCommand(parsed.data, testSettings());
  const origin: WebTarget = {
    platform: 'web',
    sessionId: `session-${requestKey}`,
    userId: requester.userId,
    channelId: 'web',
    messageId: requestKey,
  };
  const record: IntakeRecord = {
    requestKey,
    at: T0,
    origin,
    view: { jobId: requestKey, kind: 'flux', command: plan.command },
    job: pendingJob(parsed.data, plan, T0),
    requester,
  };
  expect(await producer.claim(requestKey, record)).toBe(true);
  return record;
}

/** The events of a type the page of a request got. */
async function eventsOf(requestKey: string, type: string) {
  const entries = await redis.client.xrange(keys.webEvents(`session-${requestKey}`), '-', '+');
  return entries.map(([, fields]) => JSON.parse(fields[1]!)).filter((event) => event.type === type);
}

/** The status events the page of a request got. */
async function statuses(requestKey: string): Promise<Array<{ status: { state: string } }>> {
  return eventsOf(requestKey, 'status');
}

describe("the worker's recovery of requests a gateway left", () => {
  it('queues a request admitted before its gateway stopped: one reservation, one status, the same job id', async () => {
    const record = await claimed('req-admitted', 'a lighthouse --size 1024x1024');
    const estimate = record.job.estimateMicros;
    expect(await admission.admit('req-admitted', { requester, kind: 'flux', estimate, now: T0 })).toEqual({
      ok: true,
      priority: 1,
    });
    expect(await sweeper('w1', T0 + 1_000).sweep()).toBe(0);
    expect(await sweeper('w1', DUE).recover('req-admitted')).toBe('queued');
    const job = await producer.queueFor('flux').getJob('req-admitted');
    expect(job?.data.target).toEqual(record.origin);
    expect(job?.data.command).toBe(record.job.command);
    expect(job?.opts.priority).toBe(1);
    expect((await admission.waiting(requester)).user).toBe(estimate);
    expect((await statuses('req-admitted')).map((e) => e.status.state)).toEqual(['queued']);
    expect(await producer.intake.record('req-admitted')).toBeUndefined();
    // The claim stays: the platform's redelivery is still a duplicate.
    expect(await producer.claim('req-admitted', record)).toBe(false);
    await producer.queueFor('flux').remove('req-admitted');
    await admission.release('req-admitted');
  });

  it('admits a request its gateway never admitted, and tells privately why one over budget will not run', async () => {
    const { job } = await claimed('req-fits', 'a harbour --size 1024x1024');
    await claimed('req-over', 'a second harbour --size 1024x1024');
    expect(await sweeper('w1', DUE).sweep()).toBe(2);
    expect(await producer.queueFor('flux').getJobState('req-fits')).toBe('prioritized');
    expect(await producer.queueFor('flux').getJobState('req-over')).toBe('unknown');
    // Told privately, as the gateway tells a refusal; no status.
    expect(await statuses('req-over')).toEqual([]);
    const told = await eventsOf('req-over', 'private');
    expect(told).toHaveLength(1);
    expect(told[0].text).toMatch(/budget/i);
    expect((await admission.waiting(requester)).user).toBe(job.estimateMicros);
    expect(await redis.client.zcard(keys.intakeIndex())).toBe(0);
    await producer.queueFor('flux').remove('req-fits');
    await admission.release('req-fits');
  });

  it('clears the record of a job its gateway queued, posting nothing', async () => {
    const record = await claimed('req-queued', 'a pier --size 1024x1024');
    await producer.enqueue('req-queued', { ...record.job, target: record.origin } as never);
    expect(await sweeper('w1', DUE).recover('req-queued')).toBe('found');
    expect(await statuses('req-queued')).toEqual([]);
    expect(await producer.intake.record('req-queued')).toBeUndefined();
    await producer.queueFor('flux').remove('req-queued');
  });

  it('sweeps in one worker at a time', async () => {
    await claimed('req-leased', 'a buoy --size 1024x1024');
    expect(await producer.intake.takeLease('w2', 60_000)).toBe(true);
    expect(await sweeper('w1', DUE).sweep()).toBe(0);
    expect(await producer.intake.record('req-leased')).toBeDefined();
    await producer.intake.returnLease('w2');
    expect(await sweeper('w1', DUE).sweep()).toBe(1);
    expect(await producer.queueFor('flux').getJobState('req-leased')).toBe('prioritized');
    await producer.queueFor('flux').remove('req-leased');
    await admission.release('req-leased');
  });

  it('tries a recovery that fails again at each sweep, and drops it an hour after the claim', async () => {
    const record = await claimed('req-nowhere', 'a reef --size 1024x1024');
    // A Slack request, swept by a worker that does not deliver to Slack: each recovery fails.
    const origin = { platform: 'slack', workspaceId: 'T1', channelId: 'C1', userId: 'U1' } as const;
    await redis.client.set(keys.intake('req-nowhere'), JSON.stringify({ ...record, origin }));
    const estimate = record.job.estimateMicros;
    await admission.admit('req-nowhere', { requester, kind: 'flux', estimate, now: T0 });
    expect(await sweeper('w1', DUE).sweep()).toBe(0);
    expect(await producer.intake.record('req-nowhere')).toBeDefined();
    expect(await sweeper('w1', T0 + 60 * 60_000 + 1).sweep()).toBe(0);
    expect(await producer.intake.record('req-nowhere')).toBeUndefined();
    expect(await redis.client.zcard(keys.intakeIndex())).toBe(0);
    expect((await admission.waiting(requester)).user).toBe(0);
    expect(await producer.claim('req-nowhere')).toBe(false);
  });
});
