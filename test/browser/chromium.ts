import { existsSync } from 'node:fs';
import { type Browser, type BrowserContext, chromium } from 'playwright-core';

/** Debian's package; `.ci/run` installs it with apt-get. */
export const CHROMIUM = process.env.LORABOT_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Whether the browser tests run. Without Chromium they fail, saying how to install it, unless
 * LORABOT_SKIP_BROWSER=1 says to skip them (and the run prints why).
 */
export function browserAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.LORABOT_SKIP_BROWSER === '1') {
    console.warn(`Browser tests skipped: ${CHROMIUM} is missing and LORABOT_SKIP_BROWSER=1 is set.`);
    return false;
  }
  throw new Error(
    `The browser tests need Chromium at ${CHROMIUM}: install it with \`sudo apt-get install chromium\` ` +
      '(or set LORABOT_CHROMIUM to its path), or set LORABOT_SKIP_BROWSER=1 to skip them.',
  );
}

/**
 * A browser context with no internet: everything the pages need must come from the gateway on this machine.
 * `offMachine` lists the requests the page tried to make elsewhere (each refused).
 */
export async function offlineContext(
  browser: Browser,
): Promise<{ context: BrowserContext; offMachine: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 }, colorScheme: 'light' });
  const offMachine: string[] = [];
  await context.route('**/*', (route) => {
    const host = new URL(route.request().url()).hostname;
    if (host === '127.0.0.1' || host === 'localhost') return route.continue();
    offMachine.push(route.request().url());
    return route.abort('internetdisconnected');
  });
  return { context, offMachine };
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-background-networking'],
  });
}
