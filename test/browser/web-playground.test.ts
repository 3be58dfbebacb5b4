import type { Redis } from 'ioredis';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatUsd } from '../../src/core/money.js';
import { RedisKeys } from '../../src/queue/redis-keys.js';
import { WebSessions } from '../../src/queue/web-sessions.js';
import type { Harness } from '../helpers/lorabot-harness.js';
import { waitFor } from '../helpers/wait.js';
import { browserAvailable } from './chromium.js';
import { type PlaygroundRig, startPlaygroundRig } from './playground-rig.js';
import { screenshot } from './screenshots.js';

/** Runs in the page: whether an `<img>` has loaded (self-contained, since Playwright sends its source). */
const imageLoaded = (img: unknown): boolean => {
  const image = img as { complete: boolean; naturalWidth: number };
  return image.complete && image.naturalWidth > 0;
};

/** Requests above $0.10 ask Run / Cancel first: a 1024x1024 pair ($0.14) does, a 256x256 image ($0.035) not. */
const CONFIRM_ABOVE = 'budgets:\n  confirm_above_usd: 0.1';

describe.skipIf(!browserAvailable())('the web playground and dashboard in Chromium', () => {
  let rig: PlaygroundRig;
  let harness: Harness;
  let context: BrowserContext;
  let page: Page;
  let redis: Redis;
  /** Requests the page tried to make to anywhere but this machine. */
  let offMachine: string[];

  beforeAll(async () => {
    rig = await startPlaygroundRig({ configExtra: CONFIRM_ABOVE });
    ({ harness, context, page, redis, offMachine } = rig);
  });

  afterAll(async () => {
    await rig?.close();
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

  /** Types a line into the composer and sends it, as a person does. */
  async function type(line: string): Promise<void> {
    const box = page.locator('#composer textarea');
    await box.fill(line);
    await box.press('Enter');
  }

  /** The status message of the job whose command contains `command`. */
  function job(command: string): Locator {
    return page.locator('article.bot[data-state]', {
      has: page.locator('code.command', { hasText: command }),
    });
  }

  /** The private answers shown so far ("only you can see this"), newest last. */
  const privates = () => page.locator('article.private');

  /** Waits for one more private answer than `before`, and returns its text. */
  async function nextPrivate(before: number): Promise<Locator> {
    await waitFor('a private answer', async () => (await privates().count()) > before);
    const answer = privates().nth(before);
    await expect(answer.locator('.only-you').textContent()).resolves.toBe('Only you can see this');
    return answer;
  }

  /** Runs in the page: records each text a job's status line shows, so a short-lived "Queued" is seen too. */
  async function recordStatuses(): Promise<void> {
    await page.evaluate(`(() => {
      window.statuses = [];
      new MutationObserver(() => {
        for (const s of document.querySelectorAll('article.bot[data-state] .status')) {
          const text = s.textContent;
          if (window.statuses[window.statuses.length - 1] !== text) window.statuses.push(text);
        }
      }).observe(document.querySelector('#log'), { subtree: true, childList: true, characterData: true });
    })()`);
  }

  /** The prompts Together was asked to draw. */
  const drawn = () =>
    harness.together.callsTo('/images/generations').map((c) => (c.body as { prompt?: string }).prompt);

  /** The ledger's charges this month, as the worker wrote them. */
  async function charges() {
    const month = new Date().toISOString().slice(0, 7);
    const rows = await redis.lrange(new RedisKeys(harness.prefix).ledgerEntries(month), 0, -1);
    return rows.map((row) => JSON.parse(row) as { micros: number; platform: string; jobId?: string });
  }

  it('loads the playground with no internet: every request stays on this machine', async () => {
    await page.goto(`${harness.running.httpUrl}/`);
    await page.waitForSelector('body[data-ready="true"]');
    await expect(page.locator('[data-user]').textContent()).resolves.toBe('you (this browser)');
    expect(offMachine).toEqual([]);
  });

  it('types /flux: the status with its queue position, the image inline, the cost line, Regenerate and Details', async () => {
    await recordStatuses();
    await type('/flux a red fox --size 256x256 --seed 7');
    const message = job('/flux a red fox');
    await message.locator('.images img').waitFor({ timeout: 20_000 });
    await waitFor('the image to load', () => message.locator('.images img').evaluate(imageLoaded));
    await expect(message.locator('.notice.ok').textContent()).resolves.toBe(
      'Cost: $0.035 (1 image × 1 MP × $0.035/MP)',
    );
    await expect(message.getAttribute('data-state')).resolves.toBe('done');
    await expect(message.locator('.buttons button').allTextContents()).resolves.toEqual([
      'Regenerate',
      'Vary',
      'Edit',
      'Details',
    ]);
    const statuses = (await page.evaluate('window.statuses')) as string[];
    expect(statuses[0], statuses.join('\n')).toMatch(
      /^Queued\/flux a red fox .*Queued, (position \d+|next up)$/,
    );
    expect(statuses.at(-1)).toMatch(/^Done\/flux a red fox/);
    expect(drawn()).toContain('a red fox');
    await screenshot(page, 'playground-flux');
    expect(offMachine).toEqual([]);
  });

  it('types /ask: the answer grows as it streams, then the whole answer and its cost', async () => {
    harness.together.chunkDelayMs = 60;
    harness.together.reply = () =>
      'A LoRA is a small set of extra weights trained on top of a base model. It changes the style or subject ' +
      'of what the model makes without retraining the whole model, which keeps it cheap to train and to share.';
    // Runs in the page: records each length the answer's text has.
    await page.evaluate(`(() => {
      window.lengths = [];
      new MutationObserver(() => {
        const bodies = [...document.querySelectorAll('article.bot[data-state] .body')];
        const body = bodies[bodies.length - 1];
        if (body) window.lengths.push(body.textContent.length);
      }).observe(document.querySelector('#log'), { subtree: true, childList: true, characterData: true });
    })()`);
    await type('/ask What is a LoRA?');
    const message = job('/ask What is a LoRA?');
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
    harness.together.chunkDelayMs = 0;
    await screenshot(page, 'playground');
  });

  it('answers help, presets, usage and jobs privately, and an unknown command with the usage', async () => {
    const expected: Array<[string, RegExp]> = [
      ['help', /\/flux <prompt>/],
      ['presets', /tarot/],
      ['usage', /^You: \$0\.\d+ today, \$0\.\d+ this month\./],
      ['jobs', /^You have no queued or running jobs\.$/],
      ['/paint a cat', /^Unknown command `paint`\. Use `\/flux <prompt>/],
    ];
    for (const [line, answer] of expected) {
      const before = await privates().count();
      await type(line);
      const shown = await nextPrivate(before);
      await expect(shown.locator('.body').textContent(), line).resolves.toMatch(answer);
    }
  });

  it('presses Details and Regenerate on the image: the recipe privately, then a new image with its cost', async () => {
    const fox = job('/flux a red fox --size 256x256 --seed 7');
    const before = await privates().count();
    await fox.locator('button[data-action="details"]').click();
    const recipe = await nextPrivate(before);
    await expect(recipe.locator('.body').textContent()).resolves.toMatch(/Prompt: a red fox[\s\S]*Seed: 7/);
    await fox.locator('button[data-action="regenerate"]').click();
    // Regenerate runs the same recipe with a new seed: a second message for the same prompt.
    const again = page.locator('article.bot[data-state="done"]', {
      has: page.locator('code.command', { hasText: '/flux a red fox --size 256x256 --seed' }),
    });
    await waitFor('the regenerated image', async () => (await again.count()) === 2, 20_000);
    const second = again.nth(1);
    await waitFor('its image to load', () => second.locator('.images img').evaluate(imageLoaded));
    await expect(second.locator('.notice.ok').textContent()).resolves.toMatch(/^Cost: \$0\.035 /);
    await expect(second.locator('code.command').textContent()).resolves.toMatch(/--seed (?!7$)\d+$/);
  });

  it('asks Run / Cancel above the threshold: Cancel queues nothing, Run queues the job and it runs', async () => {
    const line = '/flux two owls --size 1024x1024 --n 2';
    let before = await privates().count();
    await type(line);
    const question = await nextPrivate(before);
    await expect(question.locator('.body').textContent()).resolves.toMatch(/\$0\.14/);
    await expect(question.locator('.buttons button').allTextContents()).resolves.toEqual(['Run', 'Cancel']);
    await question.locator('button[data-action="dismiss"]').click();
    await waitFor('the question to be replaced', async () =>
      /^Cancelled\. Nothing was queued or charged\.$/.test(
        (await question.locator('.body').textContent()) ?? '',
      ),
    );
    await expect(question.locator('.buttons button').count()).resolves.toBe(0);
    expect(await job('/flux two owls').count()).toBe(0);

    before = await privates().count();
    await type(line);
    const asked = await nextPrivate(before);
    await asked.locator('button[data-action="run"]').click();
    const owls = job('/flux two owls');
    await owls.locator('.notice.ok').waitFor({ timeout: 20_000 });
    await expect(asked.locator('.body').textContent()).resolves.toMatch(/^Running: \/flux two owls/);
    await expect(owls.locator('.images img').count()).resolves.toBe(2);
    await expect(owls.locator('.notice.ok').textContent()).resolves.toMatch(/^Cost: \$0\.14 \(2 images/);
  });

  it('cancels a job that is really queued (the queue held): status cancelled, nothing charged', async () => {
    const queue = harness.running.producer!.queues.image;
    await queue.pause();
    try {
      await type('/flux a lighthouse in fog --size 256x256');
      const lighthouse = job('/flux a lighthouse in fog');
      await waitFor(
        'the queued status',
        async () => (await lighthouse.getAttribute('data-state')) === 'queued',
      );
      await expect(lighthouse.locator('.state-text').textContent()).resolves.toMatch(
        /^Queued, (position \d+|next up)$/,
      );
      const before = await privates().count();
      await type('jobs');
      const list = await nextPrivate(before);
      await expect(list.locator('.body').textContent()).resolves.toMatch(
        /^Your jobs\n1\. \/flux a lighthouse in fog .*\(queued, position 1/,
      );
      await screenshot(page, 'playground-queued');
      await lighthouse.locator('button[data-action="cancel"]').click();
      await waitFor(
        'the cancelled status',
        async () => (await lighthouse.getAttribute('data-state')) === 'cancelled',
      );
      await expect(lighthouse.locator('.state-text').textContent()).resolves.toMatch(/^Cancelled by web-/);
      await expect(lighthouse.locator('.buttons button').count()).resolves.toBe(0);
    } finally {
      await queue.resume();
    }
    expect(drawn()).not.toContain('a lighthouse in fog');
    expect((await charges()).length).toBe(4);
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
    // With the token and this origin the request is taken; sent twice with one request id, it is one job.
    const twice = JSON.stringify({ text: '/flux a double cat --size 256x256', requestId: 'web-twice-1' });
    const [first, second] = await Promise.all([post(url, twice), post(url, twice)]);
    expect([first.status, second.status]).toEqual([202, 202]);
    const cats = job('/flux a double cat');
    await cats.locator('.notice.ok').waitFor({ timeout: 20_000 });
    expect(await cats.count()).toBe(1);
    expect(drawn().filter((prompt) => prompt === 'a double cat')).toHaveLength(1);
  });

  it("opens the dashboard: the chart shows the run's spend, the jobs with cost and thumbnail", async () => {
    const entries = await charges();
    // The fox, the answer, the regenerated fox, the owls and the double-sent cat: the cancelled job cost nothing.
    expect(entries.map((e) => e.platform)).toEqual(['web', 'web', 'web', 'web', 'web']);
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
    await expect(rows.count()).resolves.toBe(5);
    // Amounts are printed as every cost line prints them: exact, 2 to 6 decimals ($0.035, not $0.04).
    const costs = (await page.locator('#jobs tbody tr td.usd').allTextContents()).map((t) => t.trim());
    expect(costs.sort()).toEqual(entries.map((e) => `$${formatUsd(e.micros)}`).sort());
    await expect(page.locator('#total').textContent()).resolves.toBe(
      `$${formatUsd(entries.reduce((sum, e) => sum + e.micros, 0))}`,
    );
    const thumbs = page.locator('#jobs img.thumb');
    await expect(thumbs.count()).resolves.toBe(4);
    for (const thumb of await thumbs.all())
      await waitFor('a thumbnail to load', () => thumb.evaluate(imageLoaded));
    await expect(page.locator('[data-queue="waiting"] strong').textContent()).resolves.toBe('0');
    await expect(page.locator('#top-people li .name').first().textContent()).resolves.toMatch(
      /^web-[0-9a-f]{12}$/,
    );
    expect(offMachine).toEqual([]);
    await screenshot(page, 'dashboard', { fullPage: true });
  });

  it('presses Vary (a variation in one press) and Edit (the prompt asked in a form, never a dialog) on an image', async () => {
    await page.goto(`${harness.running.httpUrl}/`);
    await page.waitForSelector('body[data-ready="true"]');
    page.on('dialog', (dialog) => {
      throw new Error(`a ${dialog.type()} dialog opened`);
    });
    await type('/flux a heron at dawn --size 256x256 --seed 21');
    const heron = job('/flux a heron at dawn --size 256x256 --seed 21');
    await heron.locator('.notice.ok').waitFor({ timeout: 20_000 });
    const heronId = (await heron.getAttribute('data-message'))!;
    await heron.locator('button[data-action="vary"]').click();
    const herons = page.locator('article.bot[data-state="done"]', {
      has: page.locator('code.command', { hasText: '/flux a heron at dawn --size 256x256 --seed' }),
    });
    await waitFor('the variation', async () => (await herons.count()) === 2, 20_000);
    const varied = herons.nth(1);
    await waitFor('its image to load', () => varied.locator('.images img').evaluate(imageLoaded));
    await expect(varied.locator('code.command').textContent()).resolves.toMatch(/--seed (?!21$)\d+$/);
    const variedJob = await harness.running.producer!.find((await varied.getAttribute('data-message'))!);
    expect(variedJob?.data.request).toMatchObject({ images: [{ kind: 'result', jobId: heronId, index: 0 }] });

    // By its message id: the variation's command starts the same, and its seed may begin with 21 too.
    const original = page.locator(`article.bot[data-message="${heronId}"]`);
    await original.locator('button[data-action="edit"]').click();
    const form = page.locator('form.edit-form');
    await form.waitFor();
    await expect(form.locator('textarea').inputValue()).resolves.toBe('a heron at dawn --size 256x256');
    await form.locator('textarea').fill('a heron at dusk --size 256x256');
    await form.locator('button[type="submit"]').click();
    const edited = job('/flux a heron at dusk');
    await edited.locator('.notice.ok').waitFor({ timeout: 20_000 });
    await expect(form.count()).resolves.toBe(0);
    const editedJob = await harness.running.producer!.find((await edited.getAttribute('data-message'))!);
    expect(editedJob?.data.request).toMatchObject({
      prompt: 'a heron at dusk',
      images: [{ kind: 'result', jobId: heronId, index: 0 }],
    });
    expect(drawn()).toEqual(expect.arrayContaining(['a heron at dawn', 'a heron at dusk']));
    expect(offMachine).toEqual([]);
  });
});
