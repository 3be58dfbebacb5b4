import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { usdToMicros } from '../core/money.js';
import { smoothStartLimit } from '../core/rate-limit.js';
import { err, ok, type Result } from '../core/result.js';
import type { CoreSettings } from '../core/settings.js';
import type { Config } from './config.js';
import { buildCoreSettings } from './core-settings.js';
import { DEFAULT_FILE_CONFIG, defaultHost } from './defaults.js';
import { type EnvSettings, envSchema, type FileSettings, fileSchema, SECRET_VARIABLES } from './schema.js';

/** Every problem found, and one message listing them. */
export interface ConfigError {
  message: string;
  problems: string[];
}

/** Where the settings come from: the environment (usually `process.env`) and the directory the file is looked for in. */
export interface LoadConfigOptions {
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
}

/** `lorabot/<version>` from package.json, which sits two levels above both `src/config/` and `dist/config/`. */
const USER_AGENT = `lorabot/${packageVersion()}`;

function packageVersion(): string {
  try {
    const pkg: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    const version = (pkg as { version?: unknown }).version;
    return typeof version === 'string' ? version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Reads env and the config file into a frozen Config, or returns every problem at once. */
export function loadConfig(options: LoadConfigOptions): Result<Config, ConfigError> {
  const problems: string[] = [];
  // Empty variables count as unset, as in most twelve-factor tools; an empty secret is reported instead.
  const env = Object.fromEntries(
    Object.entries(options.env).filter(([k, v]) => v !== undefined && (v !== '' || SECRET_VARIABLES.has(k))),
  );
  const envResult = envSchema.safeParse(env);
  if (!envResult.success) {
    for (const issue of envResult.error.issues) problems.push(`${issue.path.join('.')}: ${issue.message}`);
  }
  const file = readConfigFile(env.LORABOT_CONFIG, options.cwd, problems);
  const fileResult = fileSchema.safeParse(mergeConfig(DEFAULT_FILE_CONFIG, file.data ?? {}));
  const where = file.path ? ` (in ${file.path})` : '';
  if (!fileResult.success) {
    for (const issue of fileResult.error.issues.flatMap(meantIssues)) {
      problems.push(`${issue.path.join('.') || '(top level)'}${where}: ${describeIssue(issue)}`);
    }
  }
  if (!envResult.success || !fileResult.success) return err(configError(problems));

  checkEnvCombinations(envResult.data, problems);
  const core = buildCoreSettings(fileResult.data, where, problems);
  if (problems.length > 0 || !core) return err(configError(problems));
  return ok(
    deepFreeze(toConfig({ env: envResult.data, file: fileResult.data, core, configPath: file.path })),
  );
}

/** Variables that only make sense together. */
function checkEnvCombinations(e: EnvSettings, problems: string[]): void {
  if (e.SLACK_BOT_TOKEN && !e.SLACK_SIGNING_SECRET && !e.SLACK_APP_TOKEN) {
    problems.push(
      'SLACK_SIGNING_SECRET: required with SLACK_BOT_TOKEN unless SLACK_APP_TOKEN (Socket Mode) is set',
    );
  }
  if ((e.SLACK_SIGNING_SECRET || e.SLACK_APP_TOKEN) && !e.SLACK_BOT_TOKEN) {
    problems.push('SLACK_BOT_TOKEN: required when SLACK_SIGNING_SECRET or SLACK_APP_TOKEN is set');
  }
  if (Boolean(e.LORABOT_ADMIN_USER) !== Boolean(e.LORABOT_ADMIN_PASSWORD)) {
    problems.push(
      'LORABOT_ADMIN_USER and LORABOT_ADMIN_PASSWORD: set both to turn on /admin/queues, or neither',
    );
  }
  if (e.DISCORD_TOKEN && !e.DISCORD_APPLICATION_ID) {
    problems.push('DISCORD_APPLICATION_ID: required with DISCORD_TOKEN');
  }
}

interface CheckedSources {
  env: EnvSettings;
  file: FileSettings;
  core: CoreSettings;
  configPath: string | undefined;
}

/** The checked sources as one Config, in the shapes the components take. */
function toConfig({ env: e, file: f, core, configPath }: CheckedSources): Config {
  const slack = e.SLACK_BOT_TOKEN
    ? {
        botToken: e.SLACK_BOT_TOKEN,
        signingSecret: e.SLACK_SIGNING_SECRET,
        appToken: e.SLACK_APP_TOKEN,
        apiUrl: e.SLACK_API_URL,
      }
    : null;
  const discord =
    e.DISCORD_TOKEN && e.DISCORD_APPLICATION_ID
      ? { token: e.DISCORD_TOKEN, applicationId: e.DISCORD_APPLICATION_ID, apiUrl: e.DISCORD_API_URL }
      : null;
  return {
    together: togetherConfig(e, f),
    redisUrl: e.REDIS_URL,
    redisClusterNodes: (e.REDIS_CLUSTER_NODES?.split(',') ?? f.redis.cluster_nodes).map(hostAndPort),
    slack,
    discord,
    http: { port: e.PORT, host: e.HOST ?? defaultHost({ slack: slack !== null, discord: discord !== null }) },
    webPassword: e.LORABOT_WEB_PASSWORD,
    admin:
      e.LORABOT_ADMIN_USER && e.LORABOT_ADMIN_PASSWORD
        ? { user: e.LORABOT_ADMIN_USER, password: e.LORABOT_ADMIN_PASSWORD }
        : null,
    adminWrite: e.LORABOT_ADMIN_WRITE === '1',
    metricsToken: e.LORABOT_METRICS_TOKEN,
    queue: queueConfig(f.queue),
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    core,
    budgets: {
      userPerDay: toMicros(f.budgets.user_per_day_usd),
      channelPerMonth: toMicros(f.budgets.channel_per_month_usd),
      workspacePerMonth: toMicros(f.budgets.workspace_per_month_usd),
    },
    confirmAboveMicros: toMicros(f.budgets.confirm_above_usd),
    contextTokens: f.chat.context_tokens,
    watch: { activeMs: f.watch.poll_running_ms, waitingMs: f.watch.poll_waiting_ms },
    stream: {
      enabled: f.chat.stream.enabled,
      slackEditIntervalMs: f.chat.stream.slack_edit_interval_ms,
      discordEditIntervalMs: f.chat.stream.discord_edit_interval_ms,
    },
    sources: {
      maxBytes: f.sources.max_bytes,
      timeoutMs: f.sources.timeout_ms,
      imageAs: f.sources.image_as,
      publicUrl: f.gateway.public_url?.replace(/\/+$/, '') ?? undefined,
      linkTtlSeconds: f.sources.link_ttl_seconds,
      keepResultsSeconds: f.sources.keep_results_hours * 3600,
      probe: {
        enabled: f.sources.probe_links,
        timeoutMs: f.sources.probe_timeout_ms,
        allowPrivate: f.sources.probe_private_hosts,
      },
    },
    access: {
      slack: { ...f.access.slack },
      discord: {
        guilds: f.access.discord.guilds,
        channels: f.access.discord.channels,
        dms: f.access.discord.dms,
        userInstalls: f.access.discord.user_installs,
      },
      admins: { ...f.access.admins, web: [] },
    },
    configPath,
  };
}

function togetherConfig(e: EnvSettings, f: FileSettings): Config['together'] {
  const { timeouts, retries, download } = f.together;
  return {
    apiKey: e.TOGETHER_API_KEY,
    baseUrl: e.TOGETHER_BASE_URL,
    timeouts: {
      imageMs: timeouts.image_ms,
      chatMs: timeouts.chat_ms,
      streamIdleMs: timeouts.stream_idle_ms,
      streamTotalMs: timeouts.stream_total_ms,
      connectMs: timeouts.connect_ms,
    },
    retry: {
      maxRetries: retries.max_retries,
      baseDelayMs: retries.base_delay_ms,
      maxBackoffMs: retries.max_backoff_ms,
      maxServerDelayMs: retries.max_server_delay_ms,
    },
    download: { maxBytes: download.max_bytes, timeoutMs: download.timeout_ms },
    userAgent: USER_AGENT,
  };
}

function queueConfig(q: FileSettings['queue']): Config['queue'] {
  return {
    prefix: q.prefix,
    attempts: q.attempts,
    backoffMs: q.backoff_ms,
    keepCompletedSeconds: q.keep_completed_hours * 3600,
    keepFailedSeconds: q.keep_failed_hours * 3600,
    lockMs: q.lock_ms,
    stalledIntervalMs: q.stalled_interval_ms,
    maxStalledCount: q.max_stalled_count,
    perPersonMaxJobs: q.per_person_max_jobs,
    shutdownGraceMs: q.shutdown_grace_ms,
    image: { concurrency: q.image.concurrency, rateLimit: smoothStartLimit(q.image.rate_limit_per_minute) },
    chat: { concurrency: q.chat.concurrency, rateLimit: smoothStartLimit(q.chat.rate_limit_per_minute) },
  };
}

/** `host:port` (checked by the schema) as its parts. */
function hostAndPort(node: string): { host: string; port: number } {
  const colon = node.lastIndexOf(':');
  return { host: node.slice(0, colon), port: Number(node.slice(colon + 1)) };
}

function toMicros(usdAmount: number | null): number | null {
  return usdAmount === null ? null : usdToMicros(usdAmount)!;
}

function configError(problems: string[]): ConfigError {
  return {
    problems,
    message: `Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
  };
}

/**
 * A value that matches none of a union's variants: when exactly one variant has the value's shape (its keys, its
 * type), that variant's problems are the ones to report; otherwise the union's own message lists the variants.
 */
function meantIssues(issue: z.core.$ZodIssue): z.core.$ZodIssue[] {
  if (issue.code !== 'invalid_union') return [issue];
  const shaped = issue.errors.filter((branch) => branch.every((sub) => sub.path.length > 0));
  if (shaped.length !== 1) return [issue];
  return shaped[0]!.flatMap((sub) => meantIssues({ ...sub, path: [...issue.path, ...sub.path] }));
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys')
    return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`;
  return issue.message;
}

function readConfigFile(
  explicit: string | undefined,
  cwd: string,
  problems: string[],
): { path: string | undefined; data: unknown } {
  const path = explicit ? resolve(cwd, explicit) : resolve(cwd, 'lorabot.config.yaml');
  if (!existsSync(path)) {
    if (explicit) problems.push(`LORABOT_CONFIG: no file at ${path}`);
    return { path: undefined, data: undefined };
  }
  try {
    const data: unknown = parseYaml(readFileSync(path, 'utf8'));
    if (data !== null && data !== undefined && (typeof data !== 'object' || Array.isArray(data))) {
      problems.push(`${path}: expected a mapping of settings at the top level`);
      return { path, data: undefined };
    }
    return { path, data: data ?? {} };
  } catch (error) {
    problems.push(
      `${path}: cannot be read as YAML or JSON (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`,
    );
    return { path, data: undefined };
  }
}

/**
 * Objects merge key by key; the preset maps `loras` and `chat.models`, and `image.pricing` and
 * `image.edit.pricing` (whose variants have different keys), are replaced whole when given.
 */
export function mergeConfig(base: unknown, override: unknown, path: string[] = []): unknown {
  const replaceWhole = ['loras', 'chat.models', 'image.pricing', 'image.edit.pricing'].includes(
    path.join('.'),
  );
  if (replaceWhole || !isPlainObject(base) || !isPlainObject(override)) {
    return override === undefined ? base : override;
  }
  const result: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override))
    result[key] = mergeConfig(base[key], value, [...path, key]);
  return result;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
