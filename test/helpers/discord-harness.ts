import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { Redis } from 'ioredis';
import { expect } from 'vitest';
import { type Running, startLorabot } from '../../src/cli/runtime.js';
import { type Config, loadConfig } from '../../src/config/index.js';
import type { Logger } from '../../src/core/ports.js';
import { FakeDiscord } from '../contract/fakes/fake-discord.js';
import { FakeTogether, type FakeTogetherOptions } from '../contract/fakes/fake-together.js';
import { writeTestConfig } from './lorabot-harness.js';
import { deleteByPrefix, redisUrl as sharedRedisUrl } from './redis.js';
import { waitFor } from './wait.js';

export interface DiscordHarness {
  together: FakeTogether;
  discord: FakeDiscord;
  running: Running;
  config: Config;
  env: Record<string, string>;
  close(): Promise<void>;
}

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** lorabot (gateway and worker) with real discord.js on the fake Discord, and the fake Together. */
export async function startDiscordHarness(
  options: {
    /** Lines appended to the test config; a function gets the fake, for its channel ids. */
    configExtra?: string | ((discord: FakeDiscord) => string);
    redisUrl?: string;
    /** How the fake Together behaves (e.g. which chat models read pictures). */
    together?: FakeTogetherOptions;
  } = {},
): Promise<DiscordHarness> {
  const together = await new FakeTogether(options.together).start();
  const discord = await new FakeDiscord().start();
  const prefix = `{lorabot-test-${randomUUID().slice(0, 8)}}`;
  const redisUrl = options.redisUrl ?? sharedRedisUrl();
  const env = {
    TOGETHER_API_KEY: together.apiKey,
    TOGETHER_BASE_URL: together.baseUrl,
    DISCORD_TOKEN: discord.token,
    DISCORD_APPLICATION_ID: discord.applicationId,
    DISCORD_API_URL: discord.apiUrl,
    REDIS_URL: redisUrl,
    PORT: '0',
    HOST: '127.0.0.1',
    LORABOT_CONFIG: writeTestConfig(
      prefix,
      typeof options.configExtra === 'function' ? options.configExtra(discord) : options.configExtra,
    ),
  };
  const loaded = loadConfig({ env, cwd: tmpdir() });
  if (!loaded.success) throw new Error(loaded.error.message);
  const running = await startLorabot(loaded.data, {
    gateway: true,
    worker: true,
    logger: silent,
    cwd: tmpdir(),
    redis: { url: redisUrl, source: 'REDIS_URL' },
  });
  await discord.ready;
  await waitFor('discord.js to be ready', () => running.discord?.client.isReady());
  return {
    together,
    discord,
    running,
    config: loaded.data,
    env,
    async close() {
      await running.close();
      await Promise.all([together.close(), discord.close()]);
      if (!options.redisUrl) {
        const redis = new Redis(redisUrl);
        await deleteByPrefix(redis, prefix);
        redis.disconnect();
      }
    },
  };
}

/**
 * Checks every call lorabot made to the fake Discord that carried content: its `allowed_mentions` parses no kind
 * of mention (`parse: []`, no roles) and allows at most one user, the requester of a notice; in a DM only its
 * recipient. And every templated call's body matched Discord's schema.
 */
export function expectSafeDiscordCalls(discord: FakeDiscord, atLeast: number): void {
  const withContent = discord.calls.filter((c) => {
    const body = c.body as Record<string, unknown> | undefined;
    const data = (body?.data ?? body) as Record<string, unknown> | undefined;
    return typeof data?.content === 'string' && data.content.length > 0;
  });
  expect(withContent.length).toBeGreaterThan(atLeast);
  // Known when lorabot opened the DM itself (a notice by DM); a DM the person started has no record here.
  const recipient = discord.dmRecipients.get(discord.dmChannelId);
  for (const call of withContent) {
    const body = call.body as Record<string, unknown>;
    const data = (body.data ?? body) as {
      allowed_mentions?: { parse?: string[]; roles?: string[]; users?: string[] };
    };
    const where = `${call.method} ${call.path}`;
    expect(data.allowed_mentions?.parse, where).toEqual([]);
    expect(data.allowed_mentions?.roles ?? [], where).toEqual([]);
    expect((data.allowed_mentions?.users ?? []).length, where).toBeLessThanOrEqual(1);
    if (
      recipient &&
      call.path.startsWith(`/channels/${discord.dmChannelId}/`) &&
      data.allowed_mentions?.users
    )
      expect(data.allowed_mentions.users, where).toEqual([recipient]);
  }
  for (const call of discord.calls.filter((c) => c.template))
    expect(call.schemaErrors, `${call.method} ${call.path}`).toEqual([]);
}
