import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The shared contracts (Together's OpenAPI, Discord's, Slack's) live beside the repo in `../shared/contracts`;
 * `LORABOT_CONTRACTS_DIR` points elsewhere.
 */
export function contractsDir(): string {
  const dir = process.env.LORABOT_CONTRACTS_DIR ?? resolve(REPO_ROOT, '../shared/contracts');
  if (!existsSync(dir)) {
    throw new Error(
      `The API contracts are not at ${dir}. Check out the shared folder beside the repo, or set LORABOT_CONTRACTS_DIR.`,
    );
  }
  return dir;
}
