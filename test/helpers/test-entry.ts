/**
 * The start every test's own lorabot entry shares (a process a test spawns, such as crashing-gateway.ts): the
 * setting it was started for, the config as `lorabot` loads it from the environment, and a logger writing JSON
 * lines to stdout, where the test reads them.
 */
import { createLogger } from '../../src/adapters/logging/logger.js';
import { type Config, loadConfig } from '../../src/config/index.js';
import type { Logger } from '../../src/core/ports.js';

/** The entry's config and logger; `required` names the variable that says what the test wants of it. */
export function testEntry(required: string): { setting: string; config: Config; logger: Logger } {
  const setting = process.env[required];
  if (!setting) throw new Error(`${required} is not set`);
  const loaded = loadConfig({ env: process.env, cwd: process.cwd() });
  if (!loaded.success) throw new Error(loaded.error.message);
  const config = loaded.data;
  const logger = createLogger(config.logLevel, process.stdout, { format: 'json', colors: false });
  return { setting, config, logger };
}
