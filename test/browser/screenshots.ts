import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { REPO_ROOT } from '../helpers/paths.js';

/** Every run's screenshots, to look at (git-ignored). */
export const RUN_SCREENSHOTS = join(REPO_ROOT, 'test-results', 'screenshots');
/** The README's screenshots: refreshed only when asked, so a test run leaves the tree clean. */
export const DOC_SCREENSHOTS = join(REPO_ROOT, 'docs', 'screenshots');

/**
 * Screenshots the page as `<name>.png` under test-results/screenshots, and under docs/screenshots too when
 * LORABOT_UPDATE_SCREENSHOTS=1.
 */
export async function screenshot(page: Page, name: string, options: { fullPage?: boolean } = {}) {
  const dirs = [
    RUN_SCREENSHOTS,
    ...(process.env.LORABOT_UPDATE_SCREENSHOTS === '1' ? [DOC_SCREENSHOTS] : []),
  ];
  for (const dir of dirs) {
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: join(dir, `${name}.png`), fullPage: options.fullPage ?? false });
  }
}
