import { Redis } from 'ioredis';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { buildWeb } from '../../web/build.js';
import { type Harness, startHarness } from '../helpers/lorabot-harness.js';
import { deleteByPrefix } from '../helpers/redis.js';
import { launchChromium, offlineContext } from './chromium.js';

/** A lorabot serving the freshly built web pages, and Chromium with no internet open on a blank page before it. */
export interface PlaygroundRig {
  harness: Harness;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** The test's own connection to the harness's Redis (its keys are deleted at `close`). */
  redis: Redis;
  /** Requests the page tried to make to anywhere but this machine. */
  offMachine: string[];
  close(): Promise<void>;
}

/** Builds the web pages, starts lorabot (gateway and worker) with `options`, and opens Chromium offline. */
export async function startPlaygroundRig(
  options: Parameters<typeof startHarness>[0],
): Promise<PlaygroundRig> {
  await buildWeb();
  const harness = await startHarness(options);
  const redis = new Redis(harness.redisUrl);
  const browser = await launchChromium().catch(async (error: unknown) => {
    redis.disconnect();
    await harness.close();
    throw error;
  });
  const { context, offMachine } = await offlineContext(browser);
  const page = await context.newPage();
  return {
    harness,
    browser,
    context,
    page,
    redis,
    offMachine,
    async close() {
      await browser.close();
      await harness.close();
      await deleteByPrefix(redis, harness.prefix);
      redis.disconnect();
    },
  };
}
