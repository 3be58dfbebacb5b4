import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { Logger } from '../../src/core/ports.js';
import { type Running, startLorabot } from '../../src/runtime.js';
import { FakeDiscord } from '../contract/fakes/fake-discord.js';
import { FakeTogether } from '../contract/fakes/fake-together.js';
import { writeTestConfig } from '../helpers/lorabot-harness.js';
import { PrivateRedis } from '../helpers/private-redis.js';
import { waitFor } from '../helpers/wait.js';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };
let redis: PrivateRedis;
let together: FakeTogether;
let discord: FakeDiscord;
let running: Running;

beforeAll(async () => {
  redis = await new PrivateRedis().start();
  together = await new FakeTogether().start();
  discord = await new FakeDiscord().start();
  const loaded = loadConfig({
    env: {
      TOGETHER_API_KEY: together.apiKey,
      TOGETHER_BASE_URL: together.baseUrl,
      DISCORD_TOKEN: discord.token,
      DISCORD_APPLICATION_ID: discord.applicationId,
      DISCORD_API_URL: discord.apiUrl,
      PORT: '0',
      HOST: '127.0.0.1',
      LORABOT_CONFIG: writeTestConfig(`{lorabot-test-${randomUUID().slice(0, 8)}}`),
    },
    cwd: tmpdir(),
  });
  if (!loaded.success) throw new Error(loaded.error.message);
  running = await startLorabot(loaded.data, {
    gateway: true,
    worker: true,
    logger: silent,
    cwd: tmpdir(),
    redis: { url: redis.url, source: 'REDIS_URL' },
  });
  await discord.ready;
  await waitFor('discord.js to be ready', () => running.discord?.client.isReady());
});

afterAll(async () => {
  await running.close();
  await Promise.all([together.close(), discord.close()]);
  await redis.destroy();
});

describe('Redis down when a Discord command arrives', () => {
  it('answers privately "try again shortly" within the 3-second deadline and queues nothing; then recovers', async () => {
    await redis.kill();
    await waitFor(
      '/healthz to report Redis down',
      async () => (await fetch(`${running.httpUrl}/healthz`)).status === 503,
    );
    const { id } = discord.sendCommand({
      name: 'flux',
      options: [{ name: 'prompt', type: 3, value: 'while Redis is down' }],
    });
    const call = await waitFor(
      'the private answer',
      () => discord.calls.find((c) => c.path.startsWith(`/interactions/${id}/`)),
      3000,
    );
    expect(discord.interaction(id)!.deferredAfterMs).toBeLessThan(3000);
    const body = call.body as { type: number; data: { content: string; flags: number } };
    expect(body.type).toBe(4);
    expect(body.data.flags & 64).toBe(64);
    expect(body.data.content).toMatch(/Try again shortly/);
    expect(together.calls).toHaveLength(0);

    await redis.start();
    await waitFor(
      '/healthz to recover',
      async () => (await fetch(`${running.httpUrl}/healthz`)).status === 200,
      15_000,
    );
    const again = discord.sendCommand({
      name: 'ask',
      options: [{ name: 'question', type: 3, value: 'back?' }],
    });
    await waitFor(
      'the answer after recovery',
      () =>
        discord.messages.some(
          (m) => m.interaction_id === again.id && m.content.includes('Your answer is ready'),
        ),
      20_000,
    );
  });
});
