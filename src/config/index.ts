/**
 * Configuration: the zod schemas (schema.ts), the built-in defaults defined once (defaults.ts), and loading env and
 * the config file into a frozen Config (load.ts). This folder is the only reader of `process.env`.
 */
export type { Config } from './config.js';
export { DEFAULT_FILE_CONFIG, defaultHost, ENV_DEFAULTS } from './defaults.js';
export { type ConfigError, type LoadConfigOptions, loadConfig, mergeConfig } from './load.js';
export type { FileConfig } from './schema.js';
