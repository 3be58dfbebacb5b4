import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Running, startLorabot } from '../../src/cli/runtime.js';
import { loadConfig } from '../../src/config/index.js';
import { parseCommand, parseCommandLine } from '../../src/core/command-parser.js';
import type { Logger } from '../../src/core/ports.js';
import { FakeDiscord } from '../contract/fakes/fake-discord.js';
import { FakeSlack, signSlackRequest } from '../contract/fakes/fake-slack.js';
import { SIGNING_SECRET, writeTestConfig } from '../helpers/lorabot-harness.js';
import { deleteByPrefix, redisUrl } from '../helpers/redis.js';
import { testSettings } from '../helpers/settings.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Random and truncated input at the real entry points, with a gateway and no worker (accepted commands are
 * queued and left there): nothing may crash, reject unhandled, or answer other than a 4xx or a user error.
 */
const prefix = `{lorabot-test-${randomUUID().slice(0, 8)}}`;
const logged: string[] = [];
const logger: Logger = {
  debug() {},
  info() {},
  warn: (o, m) => logged.push(`${m} ${JSON.stringify(o)}`),
  error: (o, m) => logged.push(`${m} ${JSON.stringify(o)}`),
};
let slack: FakeSlack;
let discord: FakeDiscord;
let running: Running;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  slack = await new FakeSlack().start();
  discord = await new FakeDiscord().start();
  const loaded = loadConfig({
    env: {
      SLACK_BOT_TOKEN: slack.botToken,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      DISCORD_TOKEN: discord.token,
      DISCORD_APPLICATION_ID: discord.applicationId,
      DISCORD_API_URL: discord.apiUrl,
      PORT: '0',
      HOST: '127.0.0.1',
      // Answers post whole here: the fuzz tests input handling, not the edit load of 2,000 streamed answers.
      LORABOT_CONFIG: writeTestConfig(prefix, 'chat:\n  stream:\n    enabled: false'),
    },
    cwd: tmpdir(),
  });
  if (!loaded.success) throw new Error(loaded.error.message);
  running = await startLorabot(loaded.data, {
    gateway: true,
    worker: false,
    logger,
    cwd: tmpdir(),
    redis: { url: redisUrl(), source: 'REDIS_URL' },
  });
  await discord.ready;
  await waitFor('discord.js to be ready', () => running.discord?.client.isReady());
});

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await running.close();
  await Promise.all([slack.close(), discord.close()]);
  const redis = new Redis(redisUrl());
  await deleteByPrefix(redis, prefix);
  redis.disconnect();
});

const settings = testSettings();

describe('bad input never crashes anything', () => {
  it('grammar: 10,000 random command texts parse to a request or a user error, never a throw', () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 400 }), fc.string({ unit: 'binary', maxLength: 400 })),
        (text) => {
          for (const result of [
            parseCommand('flux', text, settings),
            parseCommand('ask', text, settings),
            parseCommandLine(text, settings),
          ]) {
            if (result.success) accepted++;
            else {
              refused++;
              expect(result.error.message.length).toBeGreaterThan(0);
            }
          }
        },
      ),
      { numRuns: 10_000 },
    );
    expect(accepted + refused).toBe(30_000);
  });

  it('Slack: 10,000 random and truncated signed payloads get a 2xx or 4xx, never a 5xx or a crash', async () => {
    const valid = new URLSearchParams({
      token: 'x',
      team_id: 'T0FUZZ',
      channel_id: 'C0FUZZ',
      user_id: 'U0FUZZ',
      command: '/flux',
      text: 'a panda --lora tarot',
      response_url: slack.newResponseUrl(),
      trigger_id: '1.2.3',
      api_app_id: 'A1',
    }).toString();
    const field = fc.constantFrom(
      'token',
      'team_id',
      'channel_id',
      'user_id',
      'command',
      'text',
      'response_url',
      'trigger_id',
      'type',
      'payload',
      'ssl_check',
    );
    const command = fc.record({
      command: fc.constantFrom('/flux', '/ask'),
      text: fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 })),
      team_id: fc.string({ maxLength: 12 }),
      channel_id: fc.string({ maxLength: 12 }),
      user_id: fc.string({ maxLength: 12 }),
      trigger_id: fc.uuid(),
    });
    const body = fc.oneof(
      {
        weight: 4,
        arbitrary: command.map((c) =>
          new URLSearchParams({ ...c, response_url: slack.newResponseUrl() }).toString(),
        ),
      },
      { weight: 1, arbitrary: fc.nat({ max: valid.length }).map((n) => valid.slice(0, n)) },
      { weight: 1, arbitrary: fc.string({ maxLength: 300 }) },
      {
        weight: 1,
        arbitrary: fc
          .dictionary(
            field,
            fc.oneof(
              fc.string({ maxLength: 50 }),
              fc.constantFrom('/flux', '/ask', '/other', '{"type":"block_actions"}', ''),
            ),
          )
          .map((d) => new URLSearchParams(d).toString()),
      },
      { weight: 1, arbitrary: fc.json().map((j) => `payload=${encodeURIComponent(j)}`) },
    );
    const cases = fc.sample(fc.tuple(body, fc.boolean()), { numRuns: 10_000, seed: 42 });
    const statuses = new Map<number, number>();
    // Sent 500 at a time: Bolt answers a payload no listener handles only after its unhandled-request timeout.
    for (let i = 0; i < cases.length; i += 500) {
      await Promise.all(
        cases.slice(i, i + 500).map(async ([payload, jsonType]) => {
          const headers = signSlackRequest(SIGNING_SECRET, payload, Math.floor(Date.now() / 1000));
          if (jsonType) headers['content-type'] = 'application/json';
          const response = await fetch(`${running.httpUrl}/slack/events`, {
            method: 'POST',
            headers,
            body: payload,
            signal: AbortSignal.timeout(10_000),
          });
          await response.text();
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          expect(response.status, payload).toBeLessThan(500);
        }),
      );
    }
    expect([...statuses.values()].reduce((a, b) => a + b, 0)).toBe(10_000);
    expect(unhandled.map(String)).toEqual([]);
    expect((await fetch(`${running.httpUrl}/healthz`)).status).toBe(200);
  }, 240_000);

  it('Discord: 2,000 random interactions and mentions through the gateway leave the bot answering, with no unhandled rejection', async () => {
    const option = fc.record({
      name: fc.constantFrom(
        'prompt',
        'question',
        'lora',
        'lora2',
        'size',
        'ar',
        'steps',
        'n',
        'seed',
        'model',
        'junk',
      ),
      type: fc.constantFrom(3, 4),
      value: fc.oneof(fc.string({ maxLength: 80 }), fc.integer({ min: -10, max: 100_000 })),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.record({
            kind: fc.constant('command' as const),
            name: fc.constantFrom('flux', 'ask', 'unknown'),
            options: fc.array(option, { maxLength: 6 }),
          }),
          fc.record({ kind: fc.constant('mention' as const), text: fc.string({ maxLength: 200 }) }),
        ),
        async (input) => {
          if (input.kind === 'command')
            discord.sendCommand({ name: input.name, options: input.options as never });
          else discord.sendMessage({ content: `<@${discord.botId}> ${input.text}`, mention: true });
        },
      ),
      { numRuns: 2000 },
    );
    // Let the gateway work through the storm first (no new call to Discord for 2 s: interaction responses and the
    // replies to mentions, which queue behind one channel's rate limit): what is checked next is that it still
    // answers afterwards, not how fast a loaded 2-core machine drains 2,000 events.
    let calls = -1;
    for (let waited = 0; waited < 120_000; waited += 2000) {
      if (discord.calls.length === calls) break;
      calls = discord.calls.length;
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
    // Still alive: a well-formed command after the storm is answered.
    const { id } = discord.sendCommand({
      name: 'flux',
      options: [{ name: 'prompt', type: 3, value: 'still alive?' }],
    });
    await waitFor('the deferral after the fuzz', () => discord.interaction(id)?.responded, 30_000);
    expect(unhandled.map((u) => (u instanceof Error ? u.stack : String(u)))).toEqual([]);
    expect(running.discord!.client.isReady()).toBe(true);
  }, 300_000);
});
