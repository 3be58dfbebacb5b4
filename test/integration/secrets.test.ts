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
import { PASSWORD as WEB_PASSWORD, WebDriver } from '../platform/web-driver.js';

/** A distinct, recognisable value for every secret lorabot is given. */
const SECRETS = {
  TOGETHER_API_KEY: 'tgp_v1_SECRET-together-7f3a9c1e',
  SLACK_BOT_TOKEN: 'xoxb-SECRET-slack-bot-51c2d8',
  SLACK_SIGNING_SECRET: 'SECRET-slack-signing-9e8d2a',
  SLACK_APP_TOKEN: 'xapp-SECRET-slack-app-0c7e41',
  DISCORD_TOKEN: 'SECRET.discord-bot-token.44b1f0',
  LORABOT_ADMIN_PASSWORD: 'SECRET-admin-password-2f9b',
  LORABOT_WEB_PASSWORD: WEB_PASSWORD,
  LORABOT_METRICS_TOKEN: 'SECRET-metrics-token-a83d',
};
/** Secrets handed out while the flows run: Discord interaction tokens, web session cookies. */
const issued: Record<string, string> = {};
/** Interaction-token keys seen in Redis, each expiring within 15 minutes. */
let tokenKeys = 0;
const prefix = `{lorabot-test-${randomUUID().slice(0, 8)}}`;
const logs: string[] = [];
let together: FakeTogether;
let slack: FakeSlack;
let discord: FakeDiscord;
let running: Running;
let web: WebDriver;
let env: Record<string, string>;

beforeAll(async () => {
  together = await new FakeTogether({ apiKey: SECRETS.TOGETHER_API_KEY }).start();
  slack = await new FakeSlack({ botToken: SECRETS.SLACK_BOT_TOKEN }).start();
  discord = await new FakeDiscord({ token: SECRETS.DISCORD_TOKEN }).start();
  // HTTP mode: SLACK_APP_TOKEN would switch Slack to Socket Mode, which the fake Slack does not serve; the app
  // token goes through the doctor and a config error below.
  const { SLACK_APP_TOKEN: _socketMode, ...httpMode } = SECRETS;
  env = {
    ...httpMode,
    LORABOT_ADMIN_USER: 'ops',
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
  web = new WebDriver(together, running, prefix);
  await discord.ready;
  await waitFor('discord.js', () => running.discord?.client.isReady());
});

afterAll(async () => {
  await web.close();
  await Promise.all([slack.close(), discord.close()]);
  const redis = new Redis(redisUrl());
  await deleteByPrefix(redis, prefix);
  redis.disconnect();
});

/**
 * Every value under the test's prefix, except the interaction tokens' own keys: those hold a token by design, until
 * it expires (checked apart).
 */
async function redisDump(): Promise<string> {
  const redis = new Redis(redisUrl());
  const parts: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      if (key.startsWith(`${prefix}:interaction-token:`)) {
        const ttlMs = await redis.pttl(key);
        expect(ttlMs, key).toBeGreaterThan(0);
        expect(ttlMs, key).toBeLessThanOrEqual(15 * 60_000);
        tokenKeys++;
        continue;
      }
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

/** Posts a signed `/flux` slash command, as Slack would. */
async function slackFlux(text: string): Promise<void> {
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

/** A CLI command's stdout and stderr together. */
async function cli(args: string[], cliEnv: Record<string, string>): Promise<string> {
  let out = '';
  const write = (text: string) => {
    out += text;
  };
  await main(args, {
    stdout: write,
    stderr: write,
    env: cliEnv,
    cwd: mkdtempSync(join(tmpdir(), 'lorabot-')),
  });
  return out;
}

describe('secrets never leak', () => {
  it('stay out of logs, errors, job data in Redis and chat, through Slack, Discord, web, admin, metrics and CLI flows', async () => {
    // Slack: a success and a failure (Together 401).
    await slackFlux('a secret-free panda --size 256x256');
    together.inject('/images/generations', { kind: 'status', status: 401 });
    await slackFlux('will fail --size 256x256');
    await waitFor(
      'both Slack jobs to finish',
      () => slack.parents('C0SECRET').filter((p) => /Done|Failed/.test(p.text)).length === 2,
    );

    // Discord: an answer and an image through interactions (their tokens must stay out of job data), a mention.
    const ask = discord.sendCommand({
      name: 'ask',
      options: [{ name: 'question', type: 3, value: 'what is secret?' }],
    });
    const flux = discord.sendCommand({
      name: 'flux',
      options: [{ name: 'prompt', type: 3, value: 'a secret lantern --size 256x256' }],
    });
    issued.askInteractionToken = ask.token;
    issued.fluxInteractionToken = flux.token;
    discord.sendMessage({
      content: `<@${discord.botId}> flux a secret garden --size 256x256`,
      mention: true,
    });
    await waitFor(
      'the Discord jobs',
      () => discord.messages.filter((m) => m.content.includes('is ready')).length >= 3,
    );
    expect(discord.interaction(ask.id)?.responded).toBe(true);
    expect(discord.messages.some((m) => m.interaction_id === flux.id && m.via === 'webhook')).toBe(true);

    // Web: a logged-in session runs a command.
    const alice = await web.user('alice');
    issued.webSessionCookie = (alice as unknown as { cookie: string }).cookie.split('=')[1]!;
    const request = await web.command('flux', 'a web secret --size 256x256', { user: alice });
    await waitFor('the web job', () => web.status(request)?.state === 'done');

    // The queue board (a wrong password, then the right one) and /metrics (a wrong token, then the right one).
    const admin = (password: string) =>
      fetch(`${running.httpUrl}/admin/queues/api/queues`, {
        headers: { authorization: `Basic ${Buffer.from(`ops:${password}`).toString('base64')}` },
      });
    expect((await admin('not-the-password')).status).toBe(401);
    const board = await admin(SECRETS.LORABOT_ADMIN_PASSWORD);
    expect(board.status).toBe(200);
    const boardJson = await board.text();
    const scrape = (token: string) =>
      fetch(`${running.httpUrl}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect((await scrape('not-the-token')).status).toBe(401);
    const metrics = await scrape(SECRETS.LORABOT_METRICS_TOKEN);
    expect(metrics.status).toBe(200);
    const metricsText = await metrics.text();

    // CLI: a run, the doctor (with the Socket Mode app token too), and a config error with every secret set.
    const outputs = [
      await cli(['run', '/ask the CLI secret?'], env),
      await cli(['doctor'], { ...env, SLACK_APP_TOKEN: SECRETS.SLACK_APP_TOKEN }),
      await cli(['doctor'], { ...env, SLACK_APP_TOKEN: SECRETS.SLACK_APP_TOKEN, PORT: 'eighty' }),
    ];
    expect(outputs[0]).toMatch(/You asked: the CLI secret\?/);
    expect(outputs[2]).toMatch(/PORT/);

    const everything = {
      logs: logs.join(''),
      cli: outputs.join('\n'),
      redis: await redisDump(),
      slackMessages: JSON.stringify([slack.messages, slack.responses]),
      // What lorabot sent Slack, less the `token` field Slack's own auth.test receives it in.
      slackCalls: JSON.stringify(slack.calls.map(({ args: { token: _token, ...rest } }) => rest)),
      discordMessages: JSON.stringify(discord.messages.map((m) => m.content)),
      discordBodies: JSON.stringify(discord.calls.map((c) => c.body)),
      webEvents: JSON.stringify((alice as unknown as { events: unknown[] }).events),
      board: boardJson,
      metrics: metricsText,
    };
    expect(logs.length).toBeGreaterThan(20);
    expect(everything.logs).toContain('admin login failed');
    expect(everything.logs).toContain('metrics login failed');
    expect(everything.redis).toContain('Together rejected the bot');
    expect(everything.redis).toContain('tokenRef');
    expect(tokenKeys).toBe(2);
    const secrets = { ...SECRETS, ...issued };
    expect(Object.keys(secrets)).toHaveLength(11);
    const found: string[] = [];
    for (const [name, secret] of Object.entries(secrets))
      for (const [where, text] of Object.entries(everything))
        if (text.includes(secret)) found.push(`${name} in ${where}`);
    expect(found).toEqual([]);
  }, 90_000);
});
