import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAILED_LOGIN_DELAY_MS } from '../../src/adapters/http/login-gate.js';
import { type Harness, startHarness } from '../helpers/lorabot-harness.js';

const PASSWORD = 'correct horse battery';
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const OPERATOR = { authorization: basic('ops', PASSWORD) };

/** The board's actions, each as Bull Board's UI sends it. */
const ACTIONS: Array<{ what: string; method: string; path: string; body?: unknown }> = [
  { what: 'retry every failed job', method: 'PUT', path: '/api/queues/image/retry/failed' },
  { what: 'clean the completed jobs', method: 'PUT', path: '/api/queues/image/clean/completed' },
  {
    what: 'add a job',
    method: 'POST',
    path: '/api/queues/image/add',
    body: { name: 'flux', data: { kind: 'flux', target: { platform: 'cli', userId: 'x' } }, options: {} },
  },
  { what: 'pause the queue', method: 'PUT', path: '/api/queues/image/pause' },
  { what: 'empty the queue', method: 'PUT', path: '/api/queues/image/empty' },
];

async function act(h: Harness, action: (typeof ACTIONS)[number]): Promise<number> {
  const response = await fetch(`${h.running.httpUrl}/admin/queues${action.path}`, {
    method: action.method,
    headers: { ...OPERATOR, 'content-type': 'application/json' },
    ...(action.body ? { body: JSON.stringify(action.body) } : {}),
  });
  await response.arrayBuffer();
  return response.status;
}

describe('Bull Board at /admin/queues, read-only by default', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { LORABOT_ADMIN_USER: 'ops', LORABOT_ADMIN_PASSWORD: PASSWORD } });
  });
  afterAll(async () => {
    await h.close();
  });

  it('asks for credentials and refuses wrong ones', async () => {
    const none = await fetch(`${h.running.httpUrl}/admin/queues`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic/);
    const wrong = await fetch(`${h.running.httpUrl}/admin/queues`, {
      headers: { authorization: basic('ops', 'guess') },
    });
    expect(wrong.status).toBe(401);
  });

  it('shows both queues to the operator, marked read-only', async () => {
    // The wrong guess above left this client a second to wait.
    const page = await fetch(`${h.running.httpUrl}/admin/queues`, { headers: OPERATOR });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<html/i);
    const api = await fetch(`${h.running.httpUrl}/admin/queues/api/queues`, { headers: OPERATOR });
    expect(api.status).toBe(200);
    const queues = ((await api.json()) as { queues: Array<{ name: string; readOnlyMode: boolean }> }).queues;
    expect(queues.map((q) => q.name).sort()).toEqual(['chat', 'image']);
    expect(queues.every((q) => q.readOnlyMode)).toBe(true);
  });

  it('refuses every action (retry, clean, add, pause, empty) with 405, and changes nothing', async () => {
    const before = await h.running.producer!.queues.image.getJobCounts();
    for (const action of ACTIONS) expect(await act(h, action), action.what).toBe(405);
    expect(await h.running.producer!.queues.image.getJobCounts()).toEqual(before);
    expect(await h.running.producer!.queues.image.isPaused()).toBe(false);
  });

  it('makes a client wait a second per failed login, logs each failure, and never says how long the password is', async () => {
    const logsBefore = h.logs.length;
    // One wrong guess per length around the real one (21 characters): all go the same way.
    const guesses = Array.from({ length: 20 }, (_, i) => 'x'.repeat(11 + i));
    const started = performance.now();
    const answers = await Promise.all(
      guesses.map(async (guess) => {
        const response = await fetch(`${h.running.httpUrl}/admin/queues/api/queues`, {
          headers: { authorization: basic('ops', guess) },
        });
        await response.arrayBuffer();
        return { status: response.status, ms: performance.now() - started };
      }),
    );
    const checked = answers.filter((a) => a.status === 401);
    const turnedAway = answers.filter((a) => a.status === 429);
    expect(checked.length + turnedAway.length).toBe(20);
    // A second apart: in the ten seconds a client may queue, at most 11 guesses are looked at; the rest get 429.
    expect(checked.length).toBeLessThanOrEqual(11);
    expect(Math.max(...checked.map((a) => a.ms))).toBeGreaterThanOrEqual(
      (checked.length - 1) * FAILED_LOGIN_DELAY_MS - 50,
    );
    const lines = h.logs
      .slice(logsBefore)
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.msg === 'admin login failed');
    expect(lines).toHaveLength(checked.length);
    for (const line of lines) {
      expect(line.level).toBe(40);
      expect(line.client).toMatch(/127\.0\.0\.1/);
    }
    const logged = h.logs.slice(logsBefore).join('');
    for (const guess of guesses) expect(logged).not.toContain(guess);
    expect(logged).not.toContain(PASSWORD);
    console.info(
      `20 wrong passwords at once: ${checked.length} checked over ${Math.round(Math.max(...checked.map((a) => a.ms)))} ms, ${turnedAway.length} answered 429`,
    );
    // The operator still gets in once the client's turn comes.
    const page = await fetch(`${h.running.httpUrl}/admin/queues/api/queues`, { headers: OPERATOR });
    expect(page.status).toBe(200);
  }, 40_000);
});

describe('with LORABOT_ADMIN_WRITE=1 and LORABOT_METRICS_TOKEN', () => {
  let h: Harness;
  const TOKEN = 'scrape-token-5b1e0c';
  beforeAll(async () => {
    h = await startHarness({
      env: {
        LORABOT_ADMIN_USER: 'ops',
        LORABOT_ADMIN_PASSWORD: PASSWORD,
        LORABOT_ADMIN_WRITE: '1',
        LORABOT_METRICS_TOKEN: TOKEN,
      },
    });
  });
  afterAll(async () => {
    await h.close();
  });

  it('lets the operator act on the queues', async () => {
    const clean = ACTIONS.find((a) => a.what === 'clean the completed jobs')!;
    expect(await act(h, clean)).toBe(200);
    expect(await act(h, ACTIONS.find((a) => a.what === 'pause the queue')!)).toBe(200);
    expect(await h.running.producer!.queues.image.isPaused()).toBe(true);
    expect(await act(h, { what: 'resume', method: 'PUT', path: '/api/queues/image/resume' })).toBe(200);
    expect(await h.running.producer!.queues.image.isPaused()).toBe(false);
  });

  it('serves /metrics only with the bearer token, and /healthz to anyone', async () => {
    const url = `${h.running.httpUrl}/metrics`;
    const none = await fetch(url);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await fetch(url, { headers: { authorization: `Bearer ${TOKEN}x` } })).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: TOKEN } })).status).toBe(401);
    const right = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(right.status).toBe(200);
    expect(await right.text()).toContain('lorabot_commands_total');
    expect((await fetch(`${h.running.httpUrl}/healthz`)).status).toBe(200);
    expect(h.logs.join('')).not.toContain(TOKEN);
  }, 20_000);
});
