import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DELAYED, KEPT, UNAVAILABLE } from '../../src/app/launch.js';
import { type IntakeHook, LAUNCH_DEADLINE_MS } from '../../src/core/intake.js';
import { createRedis } from '../../src/queue/redis-connection.js';
import { RedisKeys } from '../../src/queue/redis-keys.js';
import { sweepAhead } from '../helpers/intake-sweep.js';
import { type Harness, startHarness } from '../helpers/lorabot-harness.js';
import { PrivateRedis } from '../helpers/private-redis.js';
import { waitFor } from '../helpers/wait.js';

/**
 * A gateway's launch when Redis stalls or drops in its middle, on a redis-server this test owns (paused with
 * CLIENT PAUSE, killed and restarted): what the person is told, and whether the job then runs once or never, as
 * told. The worker's sweep of what the gateway left is run at once (`sweepAhead`) instead of a minute later.
 */
let redis: PrivateRedis;
let h: Harness;
/** What the gateway does at each point of a launch, for the test at hand. */
let atIntake: IntakeHook | undefined;

beforeAll(async () => {
  redis = await new PrivateRedis().start();
  h = await startHarness({
    redisUrl: redis.url,
    afterIntake: (requestKey, point) => atIntake?.(requestKey, point),
  });
}, 60_000);

afterAll(async () => {
  await h.close();
  await redis.destroy();
}, 60_000);

/** A `/flux` in `channel` (not awaited: its launch may outlast the ack); what lorabot tells privately about it. */
function flux(channel: string): { told: () => string[] } {
  const url = h.slack.newResponseUrl();
  void h.slash({
    channel_id: channel,
    command: '/flux',
    text: `a lighthouse in ${channel} --size 256x256`,
    response_url: url,
  });
  return { told: () => h.slack.responses.filter((r) => url.endsWith(r.id)).map((r) => String(r.body.text)) };
}

/** The launch's request key, at the point where `act` runs (once). */
function at(point: string, act: () => Promise<void>): Promise<string> {
  return new Promise((resolve) => {
    atIntake = async (requestKey, reached) => {
      if (reached !== point) return;
      atIntake = undefined;
      await act();
      resolve(requestKey);
    };
  });
}

/** What the request ended as: its status messages, the images in the first one's thread, Together's calls for it. */
function outcome(channel: string) {
  const statuses = h.slack.parents(channel);
  const images = statuses[0] ? h.slack.files.filter((f) => f.thread_ts === statuses[0]!.ts).length : 0;
  const calls = h.together.calls.filter((c) => JSON.stringify(c.body).includes(`a lighthouse in ${channel}`));
  return { statuses: statuses.map((s) => s.text), images, calls: calls.length };
}

async function intakeRecord(requestKey: string): Promise<string | null> {
  const connection = createRedis(redis.url, 'worker', 'test-intake-reader');
  // Asked while Redis may still be restarting: the read waits for the connection.
  connection.on('error', () => undefined);
  try {
    return await connection.get(new RedisKeys(h.config.queue.prefix).intake(requestKey));
  } finally {
    connection.disconnect();
  }
}

/** A sweep takes the request in `channel` over and runs it once: its one status Done, one image, one Together call. */
async function sweptOnce(channel: string): Promise<void> {
  expect(await sweepAhead(h)).toBe(1);
  await waitFor('the job to be done', () => outcome(channel).statuses[0]?.includes('Done'), 60_000);
  expect(outcome(channel)).toMatchObject({
    statuses: [expect.stringContaining('Done')],
    images: 1,
    calls: 1,
  });
}

describe('a launch whose Redis stalls past the deadline', () => {
  it('is left to the sweep: the person is told it is kept, no status from the gateway, and the job runs once', async () => {
    const admin = createRedis(redis.url, 'worker', 'test-admin');
    // Every script waits from the claim until a second past the deadline (WRITE mode holds EVALSHA: the admission).
    const claimed = at('claimed', async () => {
      await admin.call('CLIENT', 'PAUSE', String(LAUNCH_DEADLINE_MS + 1_000), 'WRITE');
    });
    const request = flux('C0STALLED');
    const requestKey = await claimed;
    admin.disconnect();
    const told = await waitFor('the person to be told', () => request.told()[0], LAUNCH_DEADLINE_MS + 20_000);
    expect(told).toBe(DELAYED);
    expect(h.logs.join('')).toContain('launch took too long');
    expect(outcome('C0STALLED').statuses).toEqual([]);
    expect(await h.running.producer!.queueFor('flux').getJob(requestKey)).toBeUndefined();
    expect(await intakeRecord(requestKey)).not.toBeNull();

    await sweptOnce('C0STALLED');
    expect(await sweepAhead(h)).toBe(0);
    expect(request.told()).toEqual([DELAYED]);
  }, 120_000);
});

describe('a launch that fails when Redis drops, and is given back', () => {
  it('Redis back within seconds: the claim and record are given back, the person told to try again, no sweep runs it', async () => {
    const posted = at('posted', async () => {
      await redis.kill();
      setTimeout(() => void redis.start(), 300);
    });
    const request = flux('C0BLIP');
    const requestKey = await posted;
    const told = await waitFor('the person to be told', () => request.told()[0], 20_000);
    expect(told).toBe(UNAVAILABLE);
    await waitFor('Redis to be back', async () => (await intakeRecord(requestKey)) === null, 20_000);
    expect(await sweepAhead(h)).toBe(0);
    expect(await h.running.producer!.queueFor('flux').getJob(requestKey)).toBeUndefined();
    const { statuses, calls } = outcome('C0BLIP');
    expect(statuses).toHaveLength(1);
    expect(statuses[0]).toContain('Try again shortly');
    expect(calls).toBe(0);
  }, 60_000);

  it('Redis away longer: the person is told it may still run, and it runs once when Redis is back', async () => {
    const posted = at('posted', () => redis.kill());
    const request = flux('C0AWAY');
    const requestKey = await posted;
    const told = await waitFor('the person to be told', () => request.told()[0], 20_000);
    expect(told).toBe(KEPT);
    expect(h.logs.join('')).toContain('could not give a failed launch back');
    await redis.start();
    // The record was on disk (AOF, appendfsync always): the sweep finds the status the gateway posted and queues.
    expect(await intakeRecord(requestKey)).not.toBeNull();
    await sweptOnce('C0AWAY');
    expect(request.told()).toEqual([KEPT]);
  }, 90_000);
});
