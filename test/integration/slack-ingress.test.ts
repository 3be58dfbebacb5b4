import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../src/queue/redis-connection.js';
import { FakeSlack, signSlackRequest } from '../contract/fakes/fake-slack.js';
import { FakeTogether } from '../contract/fakes/fake-together.js';
import { fakeSlackEnv } from '../helpers/fake-env.js';
import { SIGNING_SECRET, writeTestConfig } from '../helpers/lorabot-harness.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { rawPost, rssOf } from '../helpers/raw-http.js';
import { deleteByPrefix, redisUrl } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

/**
 * A real `lorabot gateway` process with Slack in HTTP mode against the fake Slack, attacked and fed on
 * `/slack/events` over plain sockets, its memory read from `/proc` while it happens.
 */
const prefix = `{lorabot-test-${randomUUID().slice(0, 8)}}`;
const MB = 1024 * 1024;
let together: FakeTogether;
let slack: FakeSlack;
let gateway: ChildProcess;
let port = 0;
const logLines: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  together = await new FakeTogether().start();
  slack = await new FakeSlack().start();
  gateway = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'gateway'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      ...fakeSlackEnv(together, slack, SIGNING_SECRET),
      REDIS_URL: redisUrl(),
      LORABOT_CONFIG: writeTestConfig(prefix),
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_FORMAT: 'json',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let buffered = '';
  gateway.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logLines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logLines.push({ msg: line });
      }
    }
  });
  const listening = await waitFor(
    'the gateway to listen',
    () => {
      if (gateway.exitCode !== null) throw new Error(`gateway exited: ${JSON.stringify(logLines)}`);
      return logLines.find((line) => line.msg === 'gateway listening');
    },
    60_000,
  );
  port = Number(new URL(String(listening.url)).port);
  // Warm up: Bolt, the listener and the first Slack call are loaded before anything is measured.
  const warm = await signedPost(JSON.stringify({ type: 'url_verification', challenge: 'warm' }), now());
  expect(warm.status).toBe(200);
}, 90_000);

afterAll(async () => {
  if (gateway.exitCode === null) {
    const exited = new Promise((resolve) => gateway.once('exit', resolve));
    gateway.kill('SIGTERM');
    await exited;
  }
  await Promise.all([together.close(), slack.close()]);
  const cleaner = createRedis(redisUrl(), 'worker', 'cleanup');
  await deleteByPrefix(cleaner, prefix);
  cleaner.disconnect();
});

function now(): number {
  return Math.floor(Date.now() / 1000);
}

async function signedPost(body: string, timestamp: number, secret = SIGNING_SECRET) {
  const headers = { ...signSlackRequest(secret, body, timestamp), 'content-type': 'application/json' };
  const started = performance.now();
  const response = await fetch(`http://127.0.0.1:${port}/slack/events`, { method: 'POST', headers, body });
  return { status: response.status, text: await response.text(), ms: performance.now() - started };
}

/** Samples the gateway's RSS every 10 ms while `work` runs; returns the peak growth over the baseline. */
async function rssGrowth<T>(
  work: () => Promise<T>,
): Promise<{ result: T; baseline: number; growth: number }> {
  const pid = gateway.pid!;
  const baseline = Math.max(await rssOf(pid), await rssOf(pid));
  let peak = baseline;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, await rssOf(pid));
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  const result = await work();
  // The last buffers may still be held just after the last answer.
  await new Promise((r) => setTimeout(r, 200));
  sampling = false;
  await sampler;
  return { result, baseline, growth: peak - baseline };
}

function countStatuses(results: Array<{ status: number }>): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const { status } of results) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

/** Headers shaped like Slack's, with a current timestamp and a signature that cannot match. */
function forgedHeaders(): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-slack-request-timestamp': String(now()),
    'x-slack-signature': `v0=${'0'.repeat(64)}`,
  };
}

describe('the Slack endpoint verifies before it reads', () => {
  it('answers 40 concurrent unsigned 10 MB bodies with a 4xx in under a second each, growing RSS < 32 MB', async () => {
    const burst = () =>
      Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          rawPost({
            port,
            headers: { 'content-type': 'application/json' },
            size: 10 * MB,
            chunked: i % 2 === 1,
          }),
        ),
      );
    // A first burst sizes the process for 40 connections (V8's young generation, parser and socket pools), once;
    // the second shows what every further burst costs.
    await burst();
    const { result, growth } = await rssGrowth(burst);
    const statuses = countStatuses(result);
    const slowest = Math.max(...result.map((r) => r.ms));
    console.info(
      `40 unsigned 10 MB bodies: statuses ${JSON.stringify(statuses)}, slowest ${slowest.toFixed(0)} ms, ` +
        `RSS growth ${(growth / MB).toFixed(1)} MB, most sent ${(Math.max(...result.map((r) => r.sentBytes)) / MB).toFixed(1)} MB`,
    );
    // Refused, every one: a 4xx, or the connection closed on a client still sending (status 0). Never taken.
    expect(Object.keys(statuses).every((s) => s === '0' || (Number(s) >= 400 && Number(s) < 500))).toBe(true);
    expect(slowest).toBeLessThan(1000);
    expect(growth).toBeLessThan(32 * MB);
  });

  it('cuts off 40 concurrent forged-signature 10 MB bodies at the 1 MiB limit, counted while chunked', async () => {
    const { result, growth } = await rssGrowth(() =>
      Promise.all(
        Array.from({ length: 40 }, () =>
          rawPost({ port, headers: forgedHeaders(), size: 10 * MB, chunked: true }),
        ),
      ),
    );
    const slowest = Math.max(...result.map((r) => r.ms));
    console.info(
      `40 forged chunked 10 MB bodies: statuses ${JSON.stringify(countStatuses(result))}, ` +
        `slowest ${slowest.toFixed(0)} ms, RSS growth ${(growth / MB).toFixed(1)} MB`,
    );
    expect(result.every((r) => r.status === 413 || r.status === 0)).toBe(true);
    expect(result.filter((r) => r.status === 413).length).toBeGreaterThan(0);
    // Up to 1 MiB each is read before the cut, at the pace of a client that sends one 64 KiB frame per turn.
    expect(slowest).toBeLessThan(5000);
    // Each may hold at most the limit before it is cut off.
    expect(growth).toBeLessThan(40 * MB + 32 * MB);
  });

  it('gives a client that reads the answer its 401 or 413 for an unsigned or oversized body', async () => {
    const url = `http://127.0.0.1:${port}/slack/events`;
    const unsigned = await fetch(url, {
      method: 'POST',
      body: 'x'.repeat(1000),
      headers: { 'content-type': 'application/json' },
    });
    expect(unsigned.status).toBe(401);
    const oversized = await fetch(url, {
      method: 'POST',
      body: Buffer.alloc(2 * MB),
      headers: forgedHeaders(),
    });
    expect(oversized.status).toBe(413);
  });

  it.each([
    ['declared up front', false],
    ['chunked', true],
  ])('refuses a 200 MB body %s before reading it', async (_name, chunked) => {
    const result = await rawPost({ port, headers: forgedHeaders(), size: 200 * MB, chunked });
    console.info(
      `200 MB ${chunked ? 'chunked' : 'declared'}: ${result.status} in ${result.ms.toFixed(0)} ms, ` +
        `${(result.sentBytes / MB).toFixed(1)} MB got out`,
    );
    // 413, or closed on the client still sending (see `rawPost`); a client that reads gets the 413 (above).
    expect([413, 0]).toContain(result.status);
    expect(result.ms).toBeLessThan(1000);
    // What got out is what the kernel buffers hold, not the body.
    expect(result.sentBytes).toBeLessThan(32 * MB);
  });

  it.each([
    ['an hour ahead', 3600],
    ['an hour behind', -3600],
    ['five minutes and a second ahead', 301],
    ['five minutes and a second behind', -301],
  ])('refuses a correctly signed request stamped %s', async (_name, offset) => {
    const result = await signedPost(
      JSON.stringify({ type: 'url_verification', challenge: 'c' }),
      now() + offset,
    );
    expect(result.status).toBe(401);
  });

  it('refuses a body signed with another secret and takes a correctly signed, current one', async () => {
    const body = JSON.stringify({ type: 'url_verification', challenge: 'c-42' });
    expect((await signedPost(body, now(), 'another-secret-entirely')).status).toBe(401);
    const ok = await signedPost(body, now() + 240);
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.text)).toEqual({ challenge: 'c-42' });
  });
});

describe('every Slack envelope is acknowledged', () => {
  it('answers app_rate_limited (Slack’s documented payload) 200 at once and logs a warning with its minute', async () => {
    const envelope = {
      token: 'Jhj5dZrVaK7ZwHHjRyZWjbDl',
      type: 'app_rate_limited',
      team_id: slack.teamId,
      minute_rate_limited: 1518467820,
      api_app_id: 'A0LORABOT',
    };
    const result = await signedPost(JSON.stringify(envelope), now());
    expect(result.status).toBe(200);
    expect(result.ms).toBeLessThan(500);
    const warning = await waitFor('the warning', () =>
      logLines.find((line) => line.minuteRateLimited === 1518467820),
    );
    expect(warning.level).toBe(40);
  });

  it.each([
    [
      'an event type lorabot does not use',
      {
        type: 'event_callback',
        team_id: 'T0LORABOT',
        api_app_id: 'A0LORABOT',
        event: { type: 'reaction_added' },
      },
    ],
    ['an envelope type Bolt does not know', { type: 'something_new', team_id: 'T0LORABOT' }],
  ])('answers %s with 200 within Slack’s 3 s', async (_name, envelope) => {
    const errorsBefore = logLines.filter((line) => Number(line.level) >= 50).length;
    const result = await signedPost(JSON.stringify(envelope), now());
    expect(result.status).toBe(200);
    expect(result.ms).toBeLessThan(3000);
    expect(logLines.filter((line) => Number(line.level) >= 50).length).toBe(errorsBefore);
  });
});
