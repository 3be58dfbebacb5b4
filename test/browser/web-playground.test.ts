import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebDeliverer } from '../../src/adapters/web/web-deliverer.js';
import { jobData, planCommand } from '../../src/app/command-plan.js';
import { parseCommandLine } from '../../src/core/command-parser.js';
import type { WebTarget } from '../../src/core/jobs.js';
import { RedisKeys } from '../../src/queue/redis-keys.js';
import { WebEventLog } from '../../src/queue/web-events.js';
import { WebSessions } from '../../src/queue/web-sessions.js';
import { buildWeb } from '../../web/build.js';
import { type Harness, startHarness } from '../helpers/lorabot-harness.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { deleteByPrefix } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';
import { browserAvailable, launchChromium } from './chromium.js';

const SCREENSHOTS = join(REPO_ROOT, 'docs', 'screenshots');

/** Runs in the page: whether an `<img>` has loaded (self-contained, since Playwright sends its source). */
const imageLoaded = (img: unknown): boolean => {
  const image = img as { complete: boolean; naturalWidth: number };
  return image.complete && image.naturalWidth > 0;
};

describe.skipIf(!browserAvailable())('the web playground and dashboard in Chromium', () => {
  let harness: Harness;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let redis: Redis;
  /** Requests the page tried to make to anywhere but this machine. */
  const offMachine: string[] = [];

  beforeAll(async () => {
    await buildWeb();
    harness = await startHarness();
    redis = new Redis(harness.redisUrl);
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1100, height: 760 }, colorScheme: 'light' });
    // No internet: everything the pages need comes from the gateway.
    await context.route('**/*', (route) => {
      const host = new URL(route.request().url()).hostname;
      if (host === '127.0.0.1' || host === 'localhost') return route.continue();
      offMachine.push(route.request().url());
      return route.abort('internetdisconnected');
    });
    page = await context.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await harness?.close();
    if (redis) {
      await deleteByPrefix(redis, harness.prefix);
      redis.disconnect();
    }
  });

  /** The web session this browser has: the gateway keeps it in Redis under the cookie's hash. */
  async function browserSession() {
    const cookie = (await context.cookies()).find((c) => c.name === 'lorabot_session');
    expect(cookie?.httpOnly).toBe(true);
    expect(cookie?.sameSite).toBe('Strict');
    const session = await new WebSessions(redis, new RedisKeys(harness.prefix)).find(cookie!.value);
    expect(session).toBeDefined();
    return session!;
  }

  /**
   * Queues a command for this browser through the real queue, as the gateway does after accepting it: the job's
   * target is the browser's session, and its first status (queued, with position) goes to the session's stream.
   */
  async function queueForBrowser(line: string, messageId: string): Promise<string> {
    const session = await browserSession();
    const parsed = parseCommandLine(line, harness.config.core);
    if (!parsed.success || (parsed.data.kind !== 'flux' && parsed.data.kind !== 'ask')) throw new Error(line);
    const plan = planCommand(parsed.data, harness.config.core);
    const target: WebTarget = {
      platform: 'web',
      sessionId: session.streamId,
      userId: session.userId,
      channelId: 'web',
      messageId,
    };
    const data = jobData(parsed.data, plan, target, Date.now());
    const producer = harness.running.producer!;
    const keys = new RedisKeys(harness.prefix);
    const position = await producer.position(plan.kind);
    await new WebDeliverer(new WebEventLog(redis, keys)).updateStatus(
      target,
      { jobId: messageId, kind: plan.kind, command: plan.command },
      { state: 'queued', position },
    );
    await producer.enqueue(messageId, data);
    return messageId;
  }

  it('loads the playground with no internet: every request stays on this machine', async () => {
    await page.goto(`${harness.running.httpUrl}/`);
    await page.waitForSelector('body[data-ready="true"]');
    await expect(page.locator('[data-user]').textContent()).resolves.toBe('you (this browser)');
    expect(offMachine).toEqual([]);
  });

  it('shows an image job live: queued, running, the image inline, the cost line, Regenerate and Details', async () => {
    const id = await queueForBrowser(
      '/flux a red panda reading tarot cards --seed 7',
      `web-img-${Date.now()}`,
    );
    const message = page.locator(`article[data-message="${id}"]`);
    await message.locator('.images img').waitFor({ timeout: 20_000 });
    await waitFor('the image to load', () => message.locator('.images img').evaluate(imageLoaded));
    await expect(message.locator('.notice.ok').textContent()).resolves.toMatch(/^Cost: \$0\.\d+ \(1 image/);
    await expect(message.getAttribute('data-state')).resolves.toBe('done');
    await expect(message.locator('.buttons button').allTextContents()).resolves.toEqual([
      'Regenerate',
      'Details',
    ]);
    expect(offMachine).toEqual([]);
  });

  it('shows an answer growing as it streams, then the whole answer and its cost', async () => {
    harness.together.chunkDelayMs = 60;
    harness.together.reply = () =>
      'A LoRA is a small set of extra weights trained on top of a base model. It changes the style or subject ' +
      'of what the model makes without retraining the whole model, which keeps it cheap to train and to share.';
    const id = `web-ask-${Date.now()}`;
    // Runs in the page (a string, since the test is compiled without the DOM's types): records each length the
    // answer's text has.
    await page.evaluate(`(() => {
      window.lengths = [];
      new MutationObserver(() => {
        const body = document.querySelector('article[data-message="${id}"] .body');
        if (body) window.lengths.push(body.textContent.length);
      }).observe(document.querySelector('#log'), { subtree: true, childList: true, characterData: true });
    })()`);
    await queueForBrowser('/ask What is a LoRA?', id);
    const message = page.locator(`article[data-message="${id}"]`);
    await message.locator('.notice.ok').waitFor({ timeout: 20_000 });
    await expect(message.locator('.notice.ok').textContent()).resolves.toMatch(
      /^Cost: \$0\.\d+ \(\d+ in \+ \d+ out tokens\)/,
    );
    await expect(message.locator('.body').textContent()).resolves.toContain('cheap to train and to share.');
    const lengths = (await page.evaluate('window.lengths')) as number[];
    const distinct = [...new Set(lengths.filter((n) => n > 0))];
    // Several partial texts, each longer than the one before, then the whole answer.
    expect(distinct.length).toBeGreaterThanOrEqual(3);
    expect(distinct).toEqual([...distinct].sort((a, b) => a - b));
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'playground.png') });
  });

  it('refuses a POST without the session token or from another origin (CSRF), and a bad body clearly', async () => {
    const url = harness.running.httpUrl!;
    const noToken = await page.evaluate(async () => {
      const response = await fetch('/api/commands', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: '/flux a cat', requestId: 'csrf-1' }),
      });
      return { status: response.status, body: await response.json() };
    });
    expect(noToken).toEqual({ status: 403, body: { error: expect.stringMatching(/CSRF/) } });
    const session = await browserSession();
    const cookie = (await context.cookies()).find((c) => c.name === 'lorabot_session')!;
    const post = (origin: string, body: string) =>
      fetch(`${url}/api/commands`, {
        method: 'POST',
        headers: {
          cookie: `lorabot_session=${cookie.value}`,
          origin,
          'x-csrf-token': session.csrfToken,
          'content-type': 'application/json',
        },
        body,
      });
    const elsewhere = await post(
      'https://evil.example',
      JSON.stringify({ text: '/flux a cat', requestId: 'csrf-2' }),
    );
    expect(elsewhere.status).toBe(403);
    const bad = await post(url, JSON.stringify({ text: '', requestId: 'csrf-3' }));
    expect(bad.status).toBe(400);
    await expect(bad.json()).resolves.toEqual({ error: expect.stringMatching(/^Bad request: text: /) });
    // With the token and this origin the request passes the checks; no inbound service takes commands yet.
    const allowed = await post(url, JSON.stringify({ text: '/flux a cat', requestId: 'csrf-4' }));
    expect(allowed.status).toBe(503);
  });

  it("opens the dashboard: the chart shows the run's spend, the jobs with cost and thumbnail", async () => {
    const keys = new RedisKeys(harness.prefix);
    const month = new Date().toISOString().slice(0, 7);
    const entries = (await redis.lrange(keys.ledgerEntries(month), 0, -1)).map(
      (row) => JSON.parse(row) as { micros: number; platform: string },
    );
    expect(entries.map((e) => e.platform)).toEqual(['web', 'web']);
    const spent = entries.reduce((sum, e) => sum + e.micros, 0) / 1_000_000;
    await page.goto(`${harness.running.httpUrl}/dashboard`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
    const chart = page.locator('#spend-chart');
    await expect(chart.getAttribute('data-total')).resolves.toBe(String(spent));
    // Vega labels each bar for screen readers with its data: today's bar carries today's spend.
    const today = new Date().toISOString().slice(0, 10);
    const labels = await chart
      .locator('svg [role="graphics-symbol"]')
      .evaluateAll((nodes) => nodes.map((n) => n.getAttribute('aria-label') ?? ''));
    const bars = labels.filter((label) => /^\d{4}-\d\d-\d\d: \$/.test(label));
    expect(bars, labels.join('\n')).toHaveLength(30);
    const todayBar = bars.find((label) => label.startsWith(today));
    expect(todayBar).toBeDefined();
    expect(Number(/\$([\d.e-]+)$/.exec(todayBar!)?.[1]), todayBar).toBeCloseTo(spent, 6);
    const rows = page.locator('#jobs tbody tr');
    await expect(rows.count()).resolves.toBe(2);
    await expect(page.locator('#jobs tbody tr td.usd').allTextContents()).resolves.toEqual(
      expect.arrayContaining([expect.stringMatching(/^\$0\.\d+/)]),
    );
    await waitFor('the thumbnail to load', () => page.locator('#jobs img.thumb').evaluate(imageLoaded));
    await expect(page.locator('[data-queue="waiting"] strong').textContent()).resolves.toBe('0');
    await expect(page.locator('#top-people li .name').first().textContent()).resolves.toMatch(
      /^web-[0-9a-f]{12}$/,
    );
    expect(offMachine).toEqual([]);
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard.png'), fullPage: true });
  });
});
