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
    const call = await waitFor(
      'the private answer',
      () => h.discord.calls.find((c) => c.path.startsWith(`/interactions/${id}/`)),
      3000,
    );
    expect(h.discord.interaction(id)!.deferredAfterMs).toBeLessThan(3000);
    const body = call.body as { type: number; data: { content: string; flags: number } };
    expect(body.type).toBe(4);
    expect(body.data.flags & 64).toBe(64);
    expect(body.data.content).toMatch(/Try again shortly/);
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
      () =>
        h.discord.messages.some(
          (m) => m.interaction_id === again.id && m.content.includes('Your answer is ready'),
        ),
      20_000,
    );
  });
});
