import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../../src/queue/ledger.js';
import { RedisKeys } from '../../src/queue/redis-keys.js';
import { sourceTint } from '../contract/fakes/fake-together-edits.js';
import { renderImage } from '../contract/fakes/test-images.js';
import type { Harness } from '../helpers/lorabot-harness.js';
import { eyesBody, pictureTurn, VISION_CHAT_MODELS, VISION_TOGETHER } from '../helpers/vision.js';
import { waitFor } from '../helpers/wait.js';
import { browserAvailable } from './chromium.js';
import { type PlaygroundRig, startPlaygroundRig } from './playground-rig.js';
import { screenshot } from './screenshots.js';

/**
 * Images attached in the playground, in Chromium: the + button (or a drop) uploads the file, and the line goes with its
 * upload's token, through the one inbound flow, as a Discord attachment does. Images go to Together inline
 * (`sources.image_as: data_url`), so the exact body is known; `eyes` reads pictures, `default` does not.
 */
const CONFIG = ['sources:', '  image_as: data_url', ...VISION_CHAT_MODELS].join('\n');
const PHOTO = renderImage({ width: 64, height: 48, seed: 11, format: 'png' });
const PHOTO_DATA_URL = `data:image/png;base64,${PHOTO.toString('base64')}`;

describe.skipIf(!browserAvailable())('attaching images in the web playground (Chromium)', () => {
  let rig: PlaygroundRig;
  let harness: Harness;
  let page: Page;
  let redis: Redis;
  let dir: string;
  let offMachine: string[];

  beforeAll(async () => {
    rig = await startPlaygroundRig({ configExtra: CONFIG, together: VISION_TOGETHER });
    ({ harness, page, redis, offMachine } = rig);
    // What Together bills for the picture: 64×48 is one 560-pixel tile.
    harness.together.imageSizes.set(PHOTO_DATA_URL, { width: 64, height: 48 });
    dir = mkdtempSync(join(tmpdir(), 'lorabot-attach-'));
    await page.goto(`${harness.running.httpUrl}/`);
    await page.waitForSelector('body[data-ready="true"]');
  });

  afterAll(async () => {
    await rig?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const keys = () => new RedisKeys(harness.prefix);
  const uploadsKept = async () => (await redis.keys(`${harness.prefix}:files:*`)).length;
  const privates = () => page.locator('article.private');

  async function nextPrivate(before: number): Promise<string> {
    await waitFor('a private answer', async () => (await privates().count()) > before);
    const answer = privates().nth(before);
    await expect(answer.locator('.only-you').textContent()).resolves.toBe('Only you can see this');
    return (await answer.locator('.body').textContent()) ?? '';
  }

  /** Picks files with the + button as a person does, and waits until the tray shows them uploaded (or refused). */
  async function attach(files: Array<{ name: string; mimeType: string; buffer: Buffer }> | string) {
    await page.locator('#composer label.attach input[type="file"]').setInputFiles(files);
  }

  async function attached(count: number) {
    await waitFor(`${count} uploaded attachment(s)`, async () => {
      return (await page.locator('#attachments .attachment[data-state="ready"]').count()) === count;
    });
  }

  async function type(line: string): Promise<void> {
    const box = page.locator('#composer textarea');
    await box.fill(line);
    await box.press('Enter');
  }

  function job(text: string): Locator {
    return page.locator('article.bot[data-state]', { has: page.locator('code.command', { hasText: text }) });
  }

  async function ledgerOf(jobId: string): Promise<LedgerEntry | undefined> {
    const month = new Date().toISOString().slice(0, 7);
    const rows = await redis.lrange(keys().ledgerEntries(month), 0, -1);
    return rows.map((row) => JSON.parse(row) as LedgerEntry).find((entry) => entry.jobId === jobId);
  }

  it('/flux with an attached image is an edit: Together gets the image inline, the result is made from it', async () => {
    await expect(page.locator('#composer label.attach').isVisible()).resolves.toBe(true);
    await attach([{ name: 'photo.png', mimeType: 'image/png', buffer: PHOTO }]);
    await attached(1);
    await screenshot(page, 'playground-attached');
    await type('/flux make it blue --size 256x256 --seed 5');
    // The line is shown with its image, and the tray is empty again.
    await expect(
      page.locator('article.mine', { hasText: 'make it blue' }).locator('img').count(),
    ).resolves.toBe(1);
    await expect(page.locator('#attachments').isHidden()).resolves.toBe(true);
    const message = job('make it blue');
    await message.locator('.notice.ok').waitFor({ timeout: 30_000 });
    const cost = 'Cost: $0.035 (1 image × 1 MP × $0.035/MP)';
    await expect(message.locator('.notice.ok').textContent()).resolves.toBe(cost);
    const call = harness.together
      .callsTo('/images/generations')
      .find((c) => (c.body as { prompt?: string }).prompt === 'make it blue');
    expect(call?.schemaErrors).toEqual([]);
    expect(call?.body).toEqual({
      model: 'black-forest-labs/FLUX.2-dev',
      prompt: 'make it blue',
      width: 256,
      height: 256,
      steps: 28,
      n: 1,
      seed: 5,
      response_format: (call!.body as { response_format: string }).response_format,
      output_format: 'jpeg',
      reference_images: [PHOTO_DATA_URL],
    });
    // The fake derives its image from the sources it was given: these bytes were made from the upload.
    const src = await message.locator('.images img').getAttribute('src');
    const shown = await page.request.get(new URL(src!, harness.running.httpUrl).toString());
    const expected = renderImage({
      width: 256,
      height: 256,
      seed: 5 + sourceTint([PHOTO_DATA_URL]),
      format: 'jpeg',
    });
    expect(Buffer.from(await shown.body()).equals(expected)).toBe(true);
    const jobId = (await message.getAttribute('data-message'))!;
    const queued = await harness.running.producer!.find(jobId);
    expect(queued?.data.request).toMatchObject({
      images: [{ kind: 'stored', mimetype: 'image/png', bytes: PHOTO.length, width: 64, height: 48 }],
    });
    await expect(ledgerOf(jobId)).resolves.toMatchObject({
      kind: 'flux',
      platform: 'web',
      model: 'black-forest-labs/FLUX.2-dev',
      micros: 35_000,
      costText: cost,
    });
    expect(offMachine).toEqual([]);
  });

  it('/ask with a dropped image is a vision question: an image_url part, its tokens apart in the cost line', async () => {
    // Runs in the page (a string, since the test's TypeScript knows no DOM): a drag carrying the file.
    const drop = await page.evaluateHandle(`(() => {
      const transfer = new DataTransfer();
      const bytes = Uint8Array.from(atob('${PHOTO.toString('base64')}'), (c) => c.charCodeAt(0));
      transfer.items.add(new File([bytes], 'chart.png', { type: 'image/png' }));
      return transfer;
    })()`);
    await page.dispatchEvent('#log', 'drop', { dataTransfer: drop });
    await attached(1);
    await type('/ask --model eyes what is in this picture?');
    const message = job('what is in this picture?');
    await message.locator('.notice.ok').waitFor({ timeout: 30_000 });
    // The fake counts words: 5 in the question, 7 in its echo; the picture is 1,601 of the 1,606 input tokens.
    // (1,606 × $0.60 + 7 × $0.80) / 1M = $0.0009692, rounded up to whole micro-dollars.
    const cost = 'Cost: $0.00097 (1 image ≈ 1,601 tokens + 5 in + 7 out tokens)';
    await expect(message.locator('.notice.ok').textContent()).resolves.toBe(cost);
    const call = harness.together
      .callsTo('/chat/completions')
      .find((c) => JSON.stringify(c.body).includes('in this picture'));
    expect(call?.schemaErrors).toEqual([]);
    expect(call?.body).toEqual(eyesBody([pictureTurn('what is in this picture?', [PHOTO_DATA_URL])]));
    const jobId = (await message.getAttribute('data-message'))!;
    await expect(ledgerOf(jobId)).resolves.toMatchObject({
      kind: 'ask',
      platform: 'web',
      model: 'google/gemma-4-31B-it',
      micros: 970,
      costText: cost,
    });
    await screenshot(page, 'playground-vision');
  });

  it('refuses privately, queuing and keeping nothing: a non-image file, a 50 MB file, an image on a text-only model', async () => {
    const calls = harness.together.calls.length;
    const kept = await uploadsKept();

    let before = await privates().count();
    await attach([{ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('shopping list: eggs') }]);
    await expect(nextPrivate(before)).resolves.toBe(
      '`notes.txt`: That file is not a PNG, JPEG, WebP or GIF image. Attach one of those. Nothing was sent.',
    );
    await expect(page.locator('#attachments .attachment').count()).resolves.toBe(0);

    // Not even sent: the page knows the limit (sources.max_bytes) from its session.
    const huge = join(dir, 'huge.png');
    writeFileSync(huge, Buffer.concat([PHOTO, Buffer.alloc(50 * 1024 * 1024 - PHOTO.length)]));
    before = await privates().count();
    await attach(huge);
    await expect(nextPrivate(before)).resolves.toBe(
      '`huge.png` is 50 MB; an image can be at most 20 MB. Attach a smaller one.',
    );
    await expect(page.locator('#attachments .attachment').count()).resolves.toBe(0);
    expect(await uploadsKept()).toBe(kept);

    await attach([{ name: 'photo.png', mimeType: 'image/png', buffer: PHOTO }]);
    await attached(1);
    before = await privates().count();
    await type('/ask what is this?');
    await expect(nextPrivate(before)).resolves.toBe(
      'The chat model `default` does not read pictures. Ask again with one that does, e.g. `/ask --model eyes <question>`. Models that read pictures: eyes. Nothing was queued.',
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    await expect(job('what is this?').count()).resolves.toBe(0);
    expect(harness.together.calls.length).toBe(calls);
  });

  it('says privately that an upload has expired, and queues nothing', async () => {
    const calls = harness.together.calls.length;
    const before = await privates().count();
    // What the page sends when its upload's key is gone (kept an hour): the gateway reads the token, finds nothing.
    const status = await page.evaluate(async () => {
      const session = (await (await fetch('/api/session')).json()) as { csrfToken: string };
      const response = await fetch('/api/commands', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken },
        body: JSON.stringify({
          text: '/flux a gone thing',
          requestId: crypto.randomUUID(),
          images: ['A'.repeat(43)],
        }),
      });
      return response.status;
    });
    expect(status).toBe(202);
    await expect(nextPrivate(before)).resolves.toBe(
      'The attached image has expired (uploads are kept for an hour). Attach it again.',
    );
    expect(harness.together.calls.length).toBe(calls);
  });
});
