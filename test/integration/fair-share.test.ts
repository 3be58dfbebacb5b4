import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ledger } from '../../src/queue/ledger.js';
import { RedisKeys } from '../../src/queue/redis-keys.js';
import { type Harness, slashReply, startHarness } from '../helpers/lorabot-harness.js';
import { waitFor } from '../helpers/wait.js';

const A_BURST = 12;

describe('fair sharing between people (real workers, the fake Together taking 400 ms an image)', () => {
  let h: Harness;

  beforeAll(async () => {
    // The cap raised, so the whole burst is queued; 4 images at a time (the test config).
    h = await startHarness({ queueExtra: ['per_person_max_jobs: 20'], together: { latencyMs: 400 } });
  });

  afterAll(async () => {
    await h.close();
  });

  it(`B's one image finishes before half of A's burst of ${A_BURST}`, async () => {
    for (let i = 0; i < A_BURST; i++) {
      await h.slash({
        channel_id: 'C0FAIR',
        user_id: 'U0ALICE',
        command: '/flux',
        text: `alice ${i} --size 256x256`,
      });
    }
    await h.slash({ channel_id: 'C0FAIR', user_id: 'U0BOB', command: '/flux', text: 'bob --size 256x256' });
    await waitFor(
      'every image',
      () =>
        h.slack.parents('C0FAIR').length === A_BURST + 1 &&
        h.slack.parents('C0FAIR').every((p) => p.text.includes('Done')),
      30_000,
    );
    // The ledger is written as each job finishes: its order is the order they finished in.
    const redis = new Redis(h.redisUrl);
    const entries = await new Ledger(redis, new RedisKeys(h.prefix)).entries(
      new Date().toISOString().slice(0, 7),
    );
    redis.disconnect();
    const order = entries.map((e) => e.userId);
    const rank = order.indexOf('U0BOB') + 1;
    const aliceBefore = order.slice(0, rank - 1).length;
    console.log(
      `fair share: B's job finished ${rank} of ${order.length}, after ${aliceBefore} of A's ${A_BURST}`,
    );
    expect(order).toHaveLength(A_BURST + 1);
    expect(aliceBefore).toBeLessThan(A_BURST / 2);
  });
});

describe('the per-person cap (default 5)', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ together: { latencyMs: 300 } });
  });

  afterAll(async () => {
    await h.close();
  });

  it('refuses the 6th job privately while 5 wait, charges nothing, and takes one again once a job has finished', async () => {
    const workers = h.running.workers!;
    await workers.image.pause();
    for (let i = 0; i < 5; i++) {
      await h.slash({ channel_id: 'C0CAP', command: '/flux', text: `capped ${i} --size 256x256` });
    }
    await waitFor('5 jobs queued', () => h.slack.parents('C0CAP').length === 5);
    const refusal = await slashReply(h, {
      channel_id: 'C0CAP',
      command: '/flux',
      text: 'one too many --size 256x256',
    });
    expect(refusal.body.response_type).toBe('ephemeral');
    expect(refusal.body.text).toBe(
      'You have 5 jobs waiting or running; the limit is 5. Wait for one to finish or cancel one with /flux jobs.',
    );
    await new Promise((r) => setTimeout(r, 200));
    expect(h.slack.parents('C0CAP')).toHaveLength(5);
    // Someone else is not held back by it.
    await h.slash({
      channel_id: 'C0CAP',
      user_id: 'U0OTHER',
      command: '/flux',
      text: 'other --size 256x256',
    });
    await waitFor('the other person’s job queued', () => h.slack.parents('C0CAP').length === 6);
    workers.image.resume();
    await waitFor('a job done', () => h.slack.parents('C0CAP').some((p) => p.text.includes('Done')));
    await h.slash({ channel_id: 'C0CAP', command: '/flux', text: 'after one finished --size 256x256' });
    await waitFor('the 7th image', () => h.slack.parents('C0CAP').length === 7);
    await waitFor('every image', () => h.slack.parents('C0CAP').every((p) => p.text.includes('Done')));
    expect(h.together.calls.filter((c) => JSON.stringify(c.body).includes('one too many'))).toHaveLength(0);
  });
});
