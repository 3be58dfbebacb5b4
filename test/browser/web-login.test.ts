import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayServer } from '../../src/adapters/http/gateway-server.js';
import { buildDashboard } from '../../src/adapters/web/dashboard-data.js';
import { webAccess } from '../../src/adapters/web/web-auth.js';
import { createWebRoutes, webAssetsDir } from '../../src/adapters/web/web-routes.js';
import type { InboundEvent } from '../../src/app/chat-platform.js';
import { NO_BUDGETS } from '../../src/core/budget.js';
import { RedisKeys } from '../../src/queue/redis-keys.js';
import { WebEventLog } from '../../src/queue/web-events.js';
import { WebSessions } from '../../src/queue/web-sessions.js';
import { buildWeb } from '../../web/build.js';
import { createTestRedis, type TestRedis } from '../helpers/redis.js';
import { browserAvailable, launchChromium } from './chromium.js';

const PASSWORD = 'correct horse battery staple';

describe.skipIf(!browserAvailable())('the web login, and the refusal on a public address', () => {
  let redis: TestRedis;
  let browser: Browser;
  const servers: GatewayServer[] = [];
  /** Events that got past the login and the refusal to the inbound service: none in these tests. */
  const reached: InboundEvent[] = [];

  /** The gateway's web routes as a server bound to `bindHost` would answer, listening here on loopback. */
  async function serve(bindHost: string, password?: string): Promise<string> {
    const keys = new RedisKeys(redis.prefix);
    const events = new WebEventLog(redis.client, keys);
    const server = new GatewayServer({
      logger: { debug() {}, info() {}, warn() {}, error() {} },
      health: async () => ({ ok: true, body: {} }),
      web: createWebRoutes({
        access: webAccess(bindHost, password),
        host: bindHost,
        sessions: new WebSessions(redis.client, keys),
        events,
        dashboard: async () =>
          buildDashboard({
            now: Date.now(),
            charges: [],
            budgets: NO_BUDGETS,
            queue: { waiting: 0, running: 0, failed: 0 },
            jobs: [],
            withImages: new Set(),
          }),
        inbound: { handle: async (event) => void reached.push(event) },
        now: Date.now,
        assetsDir: webAssetsDir(),
        logger: { debug() {}, info() {}, warn() {}, error() {} },
      }),
    });
    servers.push(server);
    return (await server.listen(0, '127.0.0.1')).url;
  }

  beforeAll(async () => {
    await buildWeb();
    redis = await createTestRedis('web-login');
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    for (const server of servers) await server.close();
    await redis?.cleanup();
  });

  it('bound to 0.0.0.0 without LORABOT_WEB_PASSWORD: refuses the pages and the API, saying how to turn them on', async () => {
    const url = await serve('0.0.0.0');
    const page = await browser.newPage();
    const response = await page.goto(`${url}/`);
    expect(response?.status()).toBe(403);
    await expect(page.locator('main').textContent()).resolves.toMatch(
      /set LORABOT_WEB_PASSWORD.*HOST=127\.0\.0\.1/s,
    );
    for (const path of ['/dashboard', '/api/dashboard', '/api/events']) {
      expect((await fetch(`${url}${path}`)).status, path).toBe(403);
    }
    const post = await fetch(`${url}/api/commands`, { method: 'POST', body: '{}' });
    expect(post.status).toBe(403);
    await expect(post.json()).resolves.toEqual({ error: expect.stringMatching(/LORABOT_WEB_PASSWORD/) });
    expect(reached).toEqual([]);
    await page.close();
  });

  it('with a password: asks for a name and the password, refuses a wrong one, and names the session', async () => {
    const url = await serve('0.0.0.0', PASSWORD);
    const context = await browser.newContext();
    const page = await context.newPage();
    expect((await fetch(`${url}/api/dashboard`)).status).toBe(401);
    const anonymous = await fetch(`${url}/api/commands`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: '/flux a cat', requestId: 'no-login-1' }),
    });
    expect(anonymous.status).toBe(401);
    expect(reached).toEqual([]);
    await page.goto(`${url}/dashboard`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.fill('input[name="name"]', 'alice');
    await page.fill('input[name="password"]', 'wrong password');
    await page.click('button[type="submit"]');
    await expect(page.locator('.error').textContent()).resolves.toBe('Wrong password.');
    await page.fill('input[name="name"]', 'alice smith');
    await page.fill('input[name="password"]', PASSWORD);
    await page.click('button[type="submit"]');
    await expect(page.locator('.error').textContent()).resolves.toMatch(/^A name is 1 to 32 letters/);
    expect(await context.cookies()).toEqual([]);
    await page.fill('input[name="name"]', 'alice');
    await page.fill('input[name="password"]', PASSWORD);
    await page.click('button[type="submit"]');
    await page.waitForSelector('body[data-ready="true"]');
    expect(new URL(page.url()).pathname).toBe('/dashboard');
    await expect(page.locator('[data-user]').textContent()).resolves.toBe('alice');
    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({ name: 'lorabot_session', httpOnly: true, sameSite: 'Strict', path: '/' });
    const session = await new WebSessions(redis.client, new RedisKeys(redis.prefix)).find(cookie!.value);
    expect(session).toMatchObject({ userId: 'web:alice', name: 'alice' });
    // Redis keeps a hash of the cookie, never the cookie itself.
    expect(await redis.client.keys(`${redis.prefix}*${cookie!.value}*`)).toEqual([]);

    await page.click('[data-logout]');
    await page.waitForURL(/\/login$/);
    expect(await context.cookies()).toEqual([]);
    expect(
      await new WebSessions(redis.client, new RedisKeys(redis.prefix)).find(cookie!.value),
    ).toBeUndefined();
    await context.close();
  });

  it('refuses a login posted from another site', async () => {
    const url = await serve('0.0.0.0', PASSWORD);
    const response = await fetch(`${url}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ name: 'mallory', password: PASSWORD }).toString(),
    });
    expect(response.status).toBe(403);
    expect(response.headers.get('set-cookie')).toBeNull();
  });
});
