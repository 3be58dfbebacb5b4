import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DiscordHarness, startDiscordHarness } from '../helpers/discord-harness.js';
import { PrivateRedis } from '../helpers/private-redis.js';
import { waitFor } from '../helpers/wait.js';

let redis: PrivateRedis;
let h: DiscordHarness;

beforeAll(async () => {
  redis = await new PrivateRedis().start();
  h = await startDiscordHarness({ redisUrl: redis.url });
});

afterAll(async () => {
  await h.close();
  await redis.destroy();
});

describe('Redis down when a Discord command arrives', () => {
  it('answers privately "try again shortly" within the 3-second deadline and queues nothing; then recovers', async () => {
    await redis.kill();
    await waitFor(
      '/healthz to report Redis down',
      async () => (await fetch(`${h.running.httpUrl}/healthz`)).status === 503,
    );
    const { id } = h.discord.sendCommand({
      name: 'flux',
      options: [{ name: 'prompt', type: 3, value: 'while Redis is down' }],
    });
    // Deferred privately at once, before anything reads Redis; then the deferred response says why.
    const deferral = await waitFor(
      'the deferral',
      () => h.discord.calls.find((c) => c.path.startsWith(`/interactions/${id}/`)),
      3000,
    );
    expect(h.discord.interaction(id)!.deferredAfterMs).toBeLessThan(3000);
    expect(deferral.body).toMatchObject({ type: 5, data: { flags: 64 } });
    const answer = await waitFor(
      'the private answer',
      () => h.discord.messages.find((m) => m.interaction_id === id && /Try again shortly/.test(m.content)),
      3000,
    );
    expect(answer.flags & 64).toBe(64);
    expect(h.together.calls).toHaveLength(0);

    await redis.start();
    await waitFor(
      '/healthz to recover',
      async () => (await fetch(`${h.running.httpUrl}/healthz`)).status === 200,
      15_000,
    );
    const again = h.discord.sendCommand({
      name: 'ask',
      options: [{ name: 'question', type: 3, value: 'back?' }],
    });
    await waitFor(
      'the answer after recovery',
      () => h.discord.answersTo(again.id).some((m) => m.content.includes('Your answer is ready')),
      20_000,
    );
  });

  it("defers a slash command within Discord's 3 seconds while Redis stalls for 4, then posts its public status", async () => {
    const admin = new Redis(redis.url);
    try {
      // Every other client's commands wait: budgets, claims and the queue cannot answer for 4 s.
      await admin.call('CLIENT', 'PAUSE', '4000', 'ALL');
      const { id } = h.discord.sendCommand({
        name: 'flux',
        options: [{ name: 'prompt', type: 3, value: 'while Redis stalls --size 256x256' }],
      });
      await waitFor('the deferral', () => h.discord.interaction(id)?.responded, 3000);
      const deferredAfterMs = h.discord.interaction(id)!.deferredAfterMs!;
      console.info(`deferred ${deferredAfterMs} ms after the interaction, with Redis paused for 4000 ms`);
      expect(deferredAfterMs).toBeLessThan(3000);
      const status = await waitFor('the public status', () => h.discord.publicReply(id), 15_000);
      await waitFor('the job to finish', () => status.content.includes('Done'), 30_000);
      // Only the public status is left: the private deferral was filled and removed.
      expect(h.discord.messages.filter((m) => m.interaction_id === id && (m.flags & 64) !== 0)).toEqual([]);
    } finally {
      admin.disconnect();
    }
  }, 60_000);
});
