import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/adapters/logging/logger.js';
import { main } from '../../src/cli/cli.js';
import { type Running, startLorabot } from '../../src/cli/runtime.js';
import { loadConfig } from '../../src/config/index.js';
import { FakeDiscord } from '../contract/fakes/fake-discord.js';
import { FakeSlack, signSlackRequest } from '../contract/fakes/fake-slack.js';
import { FakeTogether } from '../contract/fakes/fake-together.js';
import { writeTestConfig } from '../helpers/lorabot-harness.js';
import { deleteByPrefix, redisUrl } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

const SECRETS = {
  TOGETHER_API_KEY: 'tgp_v1_SECRET-together-7f3a9c1e',
  SLACK_BOT_TOKEN: 'xoxb-SECRET-slack-bot-51c2d8',
  SLACK_SIGNING_SECRET: 'SECRET-slack-signing-9e8d2a',
  DISCORD_TOKEN: 'SECRET.discord-bot-token.44b1f0',
};
const prefix = `{lorabot-test-${randomUUID().slice(0, 8)}}`;
const logs: string[] = [];
let together: FakeTogether;
let slack: FakeSlack;
let discord: FakeDiscord;
let running: Running;
let env: Record<string, string>;
const outputs: string[] = [];

beforeAll(async () => {
  together = await new FakeTogether({ apiKey: SECRETS.TOGETHER_API_KEY }).start();
  slack = await new FakeSlack({ botToken: SECRETS.SLACK_BOT_TOKEN }).start();
  discord = await new FakeDiscord({ token: SECRETS.DISCORD_TOKEN }).start();
  env = {
    ...SECRETS,
    TOGETHER_BASE_URL: together.baseUrl,
    SLACK_API_URL: slack.apiUrl,
    DISCORD_APPLICATION_ID: discord.applicationId,
    DISCORD_API_URL: discord.apiUrl,
    REDIS_URL: redisUrl(),
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'trace',
    LORABOT_CONFIG: writeTestConfig(prefix),
  };
  const loaded = loadConfig({ env, cwd: tmpdir() });
  if (!loaded.success) throw new Error(loaded.error.message);
  const sink = new Writable({
    write(chunk, _e, done) {
      logs.push(String(chunk));
      done();
    },
  });
  running = await startLorabot(loaded.data, {
    gateway: true,
    worker: true,
    logger: createLogger('trace', sink),
    cwd: tmpdir(),
    redis: { url: redisUrl(), source: 'REDIS_URL' },
  });
  await discord.ready;
  await waitFor('discord.js', () => running.discord?.client.isReady());
});

afterAll(async () => {
  await running.close();
  await Promise.all([together.close(), slack.close(), discord.close()]);
  const redis = new Redis(redisUrl());
  await deleteByPrefix(redis, prefix);
  redis.disconnect();
});

async function redisDump(): Promise<string> {
  const redis = new Redis(redisUrl());
  const parts: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      if (type === 'string') parts.push(String(await redis.get(key)));
      else if (type === 'hash') parts.push(JSON.stringify(await redis.hgetall(key)));
      else if (type === 'list') parts.push(JSON.stringify(await redis.lrange(key, 0, -1)));
      else if (type === 'zset') parts.push(JSON.stringify(await redis.zrange(key, 0, -1)));
      else if (type === 'set') parts.push(JSON.stringify(await redis.smembers(key)));
      else if (type === 'stream') parts.push(JSON.stringify(await redis.xrange(key, '-', '+')));
    }
  } while (cursor !== '0');
  redis.disconnect();
  return parts.join('\n');
}

describe('secrets never leak', () => {
  it('stay out of logs, errors, job payloads in Redis and chat, through Slack, Discord and CLI flows', async () => {
    // Slack: a success and a failure (Together 401).
    for (const text of ['a secret-free panda --size 256x256', 'will fail --size 256x256']) {
      if (text.startsWith('will fail'))
        together.inject('/images/generations', { kind: 'status', status: 401 });
      const body = new URLSearchParams({
        team_id: slack.teamId,
        channel_id: 'C0SECRET',
        user_id: 'U0SECRET',
        command: '/flux',
        text,
        response_url: slack.newResponseUrl(),
        trigger_id: randomUUID(),
      }).toString();
      const response = await fetch(`${running.httpUrl}/slack/events`, {
        method: 'POST',
        headers: signSlackRequest(SECRETS.SLACK_SIGNING_SECRET, body, Math.floor(Date.now() / 1000)),
        body,
      });
      expect(response.status).toBe(200);
    }
    await waitFor(
      'both Slack jobs to finish',
      () => slack.parents('C0SECRET').filter((p) => /Done|Failed/.test(p.text)).length === 2,
    );
    // Discord: a command and a mention.
    const { id } = discord.sendCommand({
      name: 'ask',
      options: [{ name: 'question', type: 3, value: 'what is secret?' }],
    });
    discord.sendMessage({
      content: `<@${discord.botId}> flux a secret garden --size 256x256`,
      mention: true,
    });
    await waitFor(
      'the Discord jobs',
      () => discord.messages.filter((m) => m.content.includes('is ready')).length >= 2,
    );
    expect(discord.interaction(id)?.responded).toBe(true);
    // CLI: a run and a doctor.
    const cwd = mkdtempSync(join(tmpdir(), 'lorabot-secrets-'));
    for (const args of [['run', '/ask the CLI secret?'], ['doctor']]) {
      let out = '';
      await main(args, {
        stdout: (t) => {
          out += t;
        },
        stderr: (t) => {
          out += t;
        },
        env,
        cwd,
      });
      outputs.push(out);
    }
    expect(outputs[0]).toMatch(/You asked: the CLI secret\?/);

    const everything = [
      logs.join(''),
      outputs.join('\n'),
      await redisDump(),
      JSON.stringify(slack.messages),
      JSON.stringify(slack.responses),
      // What lorabot sent Slack, less the `token` field Slack's own auth.test receives it in.
      JSON.stringify(slack.calls.map(({ args: { token: _token, ...rest } }) => rest)),
      JSON.stringify(discord.messages.map((m) => m.content)),
      JSON.stringify(discord.calls.map((c) => c.body)),
    ].join('\n');
    expect(logs.length).toBeGreaterThan(20);
    expect(everything).toContain('Together rejected the bot');
    for (const [name, secret] of Object.entries(SECRETS)) {
      expect(everything.includes(secret), `${name} leaked`).toBe(false);
    }
  }, 60_000);
});
