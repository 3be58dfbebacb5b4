import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { RetryOptions } from './adapters/together/retry-policy.js';
import type { TogetherTimeouts } from './adapters/together/together-client.js';
import type { AccessRules } from './core/access.js';
import type { Budgets } from './core/budget.js';
import { parseLoraUrl } from './core/lora-ref.js';
import { usdToMicros } from './core/money.js';
import { type StartLimit, smoothStartLimit } from './core/rate-limit.js';
import { err, ok, type Result } from './core/result.js';
import type { ChatModel, ChatPricing, CoreSettings, ImagePricing, LoraPreset } from './core/settings.js';

/**
 * The one reader of `process.env` and the config file. Everything is validated once, at start-up, into a frozen
 * `Config`; a bad value stops the process with one message that lists every problem.
 */
export interface Config {
  together: {
    apiKey: string | undefined;
    baseUrl: string;
    timeouts: TogetherTimeouts;
    retry: RetryOptions;
    download: { maxBytes: number; timeoutMs: number };
    /** `lorabot/<version>` on every request: Together's image CDN answers 403 to an empty User-Agent. */
    userAgent: string;
  };
  redisUrl: string | undefined;
  slack: {
    botToken: string;
    signingSecret: string | undefined;
    appToken: string | undefined;
    apiUrl: string;
  } | null;
  discord: { token: string; applicationId: string; apiUrl: string } | null;
  http: { port: number; host: string };
  /**
   * The web playground's login password; undefined: served without login on a loopback HOST, refused on any other.
   */
  webPassword: string | undefined;
  /** Bull Board credentials; null: the board is off. */
  admin: { user: string; password: string } | null;
  queue: {
    /** Key prefix for every queue and lorabot key; the braces make it a Redis Cluster hash tag. */
    prefix: string;
    attempts: number;
    backoffMs: number;
    keepCompletedSeconds: number;
    keepFailedSeconds: number;
    /** How long a worker's lock on a job lasts without renewal; a crashed worker's jobs are free after it. */
    lockMs: number;
    /** How often workers look for jobs whose worker died (BullMQ's stalled-job check). */
    stalledIntervalMs: number;
    /** How many times a job may be picked up again after its worker died before it is failed. */
    maxStalledCount: number;
    image: { concurrency: number; rateLimit: StartLimit };
    chat: { concurrency: number; rateLimit: StartLimit };
  };
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** `pretty` or `json` as LOG_FORMAT says; undefined: pretty on a terminal, else JSON lines. */
  logFormat: 'pretty' | 'json' | undefined;
  core: CoreSettings;
  access: AccessRules;
  budgets: Budgets;
  /** Requests estimated above this many micro-dollars ask Run/Cancel first; null: never. */
  confirmAboveMicros: number | null;
  /** Follow-ups in a thread: at most this many (rough) tokens of earlier turns are sent. */
  contextTokens: number;
  /** Streamed answers: whether to stream, and the least time between two edits of one message per platform. */
  stream: { enabled: boolean; slackEditIntervalMs: number; discordEditIntervalMs: number };
  /** The config file read, if any. */
  configPath: string | undefined;
}

export interface ConfigError {
  message: string;
  problems: string[];
}

/** `lorabot/<version>` from package.json, which sits one level above both `src/` and `dist/`. */
const USER_AGENT = `lorabot/${packageVersion()}`;

function packageVersion(): string {
  try {
    const pkg: unknown = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    const version = (pkg as { version?: unknown }).version;
    return typeof version === 'string' ? version : 'unknown';
  } catch {
    return 'unknown';
  }
}

const positiveInt = z.number().int().positive();
const range = (min: number, max: number) =>
  z.strictObject({ min: z.number().int().min(min).max(max), max: z.number().int().min(min).max(max) });
const usd = z
  .number()
  .nonnegative()
  .refine((v) => usdToMicros(v) !== undefined, {
    message: 'expected a USD amount with at most 6 decimals',
  });

const queueLimits = z.strictObject({
  concurrency: z.number().int().min(1).max(256),
  rate_limit_per_minute: z.number().int().min(1).max(100_000),
});

const ids = z.array(z.string().regex(/^[\w-]{1,40}$/, 'expected a Slack or Discord id'));

const limit = usd.nullable();

/** A dedicated endpoint: Together bills its uptime by the minute, so a request has no price of its own. */
const billedPerMinute = z.strictObject({ billed: z.literal('per_minute') });

// Each variant is told apart by its keys; describeIssue reports the problems of the one the value was meant to be.
const imagePricing = z
  .union(
    [
      z.strictObject({
        usd_per_megapixel: usd,
        megapixel_pixels: z.union([z.literal(1_000_000), z.literal(1_048_576)]).default(1_000_000),
        rounding: z.enum(['up', 'none']).default('up'),
        step_scaling_default_steps: positiveInt.nullable().default(null),
      }),
      z.strictObject({ usd_per_image: usd }),
      billedPerMinute,
    ],
    { error: 'expected { usd_per_megapixel: … }, { usd_per_image: … }, { billed: per_minute } or null' },
  )
  .nullable();

const chatPricing = z
  .union(
    [
      z.strictObject({ input_usd_per_m_tokens: usd, output_usd_per_m_tokens: usd }),
      z.literal('auto'),
      billedPerMinute,
    ],
    {
      error:
        'expected { input_usd_per_m_tokens: …, output_usd_per_m_tokens: … }, auto, { billed: per_minute } or null',
    },
  )
  .nullable();

const fileSchema = z.strictObject({
  budgets: z.strictObject({
    user_per_day_usd: limit,
    channel_per_month_usd: limit,
    workspace_per_month_usd: limit,
    confirm_above_usd: limit,
  }),
  access: z.strictObject({
    slack: z.strictObject({ workspaces: ids, channels: ids }),
    discord: z.strictObject({ guilds: ids, channels: ids, dms: z.boolean() }),
    admins: z.strictObject({ slack: ids, discord: ids }),
  }),
  queue: z.strictObject({
    prefix: z.string().regex(/^\{[\w:-]+\}$/, 'expected a Redis Cluster hash tag such as {lorabot}'),
    attempts: z.number().int().min(1).max(10),
    backoff_ms: positiveInt,
    keep_completed_hours: positiveInt,
    keep_failed_hours: positiveInt,
    lock_ms: z.number().int().min(1000),
    stalled_interval_ms: z.number().int().min(500),
    max_stalled_count: z.number().int().min(0).max(10),
    image: queueLimits,
    chat: queueLimits,
  }),
  together: z.strictObject({
    timeouts: z.strictObject({
      image_ms: positiveInt.min(
        180_000,
        'image generation needs at least 180000 ms (FLUX with n=4 can take minutes)',
      ),
      chat_ms: positiveInt,
      stream_idle_ms: positiveInt,
      stream_total_ms: positiveInt,
      connect_ms: positiveInt,
    }),
    retries: z.strictObject({
      max_retries: z.number().int().min(0).max(10),
      base_delay_ms: positiveInt,
      max_backoff_ms: positiveInt,
      max_server_delay_ms: positiveInt,
    }),
    download: z.strictObject({ max_bytes: positiveInt, timeout_ms: positiveInt }),
  }),
  image: z.strictObject({
    model: z.string().min(1),
    response_format: z.enum(['base64', 'url']),
    output_format: z.enum(['jpeg', 'png']),
    defaults: z.strictObject({ width: positiveInt, height: positiveInt, steps: positiveInt, n: positiveInt }),
    bounds: z.strictObject({
      min_side: positiveInt,
      max_side: positiveInt,
      side_multiple: positiveInt,
      steps: range(1, 50),
      n: range(1, 4),
      lora_scale: z.strictObject({ min: z.number().min(-10).max(10), max: z.number().min(-10).max(10) }),
      max_prompt_chars: positiveInt,
    }),
    pricing: imagePricing,
  }),
  chat: z.strictObject({
    default_model: z.string().min(1),
    max_question_chars: positiveInt,
    context_tokens: positiveInt,
    stream: z.strictObject({
      enabled: z.boolean(),
      slack_edit_interval_ms: z.number().int().min(200),
      discord_edit_interval_ms: z.number().int().min(200),
    }),
    models: z.record(
      z.string().regex(/^[a-z0-9][a-z0-9_-]*$/i, 'model names are letters, digits, - and _'),
      z.strictObject({
        id: z.string().min(1),
        system_prompt: z.string().optional(),
        max_tokens: positiveInt,
        description: z.string().optional(),
        pricing: chatPricing,
      }),
    ),
  }),
  loras: z.record(
    z.string().regex(/^[a-z0-9][a-z0-9_-]*$/i, 'preset names are letters, digits, - and _'),
    z.strictObject({
      url: z.string().min(1),
      trigger: z.string().optional(),
      scale: z.number().default(1),
      description: z.string().optional(),
      channels: z
        .array(
          z
            .string({ error: 'write each channel id in quotes, e.g. "C0123ABCD" or "123456789012345678"' })
            .regex(/^[A-Z0-9]+$/i, 'channel ids are letters and digits'),
        )
        .optional(),
    }),
  ),
});

type FileConfig = z.input<typeof fileSchema>;

/** The built-in defaults; `lorabot.config.example.yaml` documents each of them. */
export const DEFAULT_FILE_CONFIG: FileConfig = {
  budgets: {
    user_per_day_usd: null,
    channel_per_month_usd: null,
    workspace_per_month_usd: null,
    confirm_above_usd: null,
  },
  access: {
    slack: { workspaces: [], channels: [] },
    discord: { guilds: [], channels: [], dms: true },
    admins: { slack: [], discord: [] },
  },
  queue: {
    prefix: '{lorabot}',
    attempts: 3,
    backoff_ms: 5000,
    keep_completed_hours: 24,
    keep_failed_hours: 168,
    lock_ms: 30_000,
    stalled_interval_ms: 30_000,
    max_stalled_count: 2,
    image: { concurrency: 2, rate_limit_per_minute: 10 },
    chat: { concurrency: 8, rate_limit_per_minute: 60 },
  },
  together: {
    timeouts: {
      image_ms: 180_000,
      chat_ms: 120_000,
      stream_idle_ms: 30_000,
      stream_total_ms: 300_000,
      connect_ms: 10_000,
    },
    retries: { max_retries: 2, base_delay_ms: 1000, max_backoff_ms: 10_000, max_server_delay_ms: 60_000 },
    download: { max_bytes: 25 * 1024 * 1024, timeout_ms: 60_000 },
  },
  image: {
    model: 'black-forest-labs/FLUX.2-dev',
    response_format: 'base64',
    output_format: 'jpeg',
    defaults: { width: 1000, height: 1000, steps: 28, n: 1 },
    bounds: {
      min_side: 256,
      max_side: 1920,
      side_multiple: 8,
      steps: { min: 1, max: 50 },
      n: { min: 1, max: 4 },
      lora_scale: { min: 0.3, max: 1.2 },
      max_prompt_chars: 2000,
    },
    pricing: {
      usd_per_megapixel: 0.035,
      megapixel_pixels: 1_000_000,
      rounding: 'up',
      step_scaling_default_steps: null,
    },
  },
  chat: {
    default_model: 'default',
    max_question_chars: 8000,
    context_tokens: 3000,
    stream: { enabled: true, slack_edit_interval_ms: 1200, discord_edit_interval_ms: 1000 },
    models: {
      default: {
        id: 'meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo',
        system_prompt: 'You are a helpful assistant in a team chat. Answer briefly and clearly.',
        max_tokens: 1024,
        description: 'Llama 3.1 8B Instruct Turbo',
        pricing: { input_usd_per_m_tokens: 0.18, output_usd_per_m_tokens: 0.18 },
      },
    },
  },
  loras: {
    tarot: {
      url: 'https://huggingface.co/multimodalart/flux-tarot-v1',
      trigger: 'in the style of TOK a trtcrd tarot style',
      scale: 1,
      description: 'Tarot-card illustration style',
    },
  },
};

const envSchema = z.object({
  TOGETHER_API_KEY: z.string().min(1).optional(),
  TOGETHER_BASE_URL: httpUrl().default('https://api.together.ai/v1'),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\/\S+$/, 'expected a redis:// or rediss:// URL')
    .optional(),
  SLACK_BOT_TOKEN: z.string().min(1).optional(),
  SLACK_SIGNING_SECRET: z.string().min(1).optional(),
  SLACK_APP_TOKEN: z.string().min(1).optional(),
  SLACK_API_URL: httpUrl().default('https://slack.com/api/'),
  DISCORD_TOKEN: z.string().min(1).optional(),
  DISCORD_APPLICATION_ID: z
    .string()
    .regex(/^\d{1,25}$/, 'expected the numeric application id')
    .optional(),
  DISCORD_API_URL: httpUrl().default('https://discord.com/api'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  LORABOT_CONFIG: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['pretty', 'json']).optional(),
  LORABOT_ADMIN_USER: z.string().min(1).optional(),
  LORABOT_ADMIN_PASSWORD: z.string().min(12, 'expected at least 12 characters').optional(),
  LORABOT_WEB_PASSWORD: z
    .string()
    .refine(
      (value) => value.trim() !== '',
      'expected a password (it is empty or only spaces); unset it to turn login off',
    )
    .optional(),
});

function httpUrl() {
  return z.string().regex(/^https?:\/\/\S+$/, 'expected an http(s) URL');
}

export interface LoadConfigOptions {
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
}

/** Reads env and the config file into a frozen Config, or returns every problem at once. */
export function loadConfig(options: LoadConfigOptions): Result<Config, ConfigError> {
  const problems: string[] = [];
  // Empty variables count as unset, as in most twelve-factor tools.
  const env = Object.fromEntries(Object.entries(options.env).filter(([, v]) => v !== undefined && v !== ''));
  const envResult = envSchema.safeParse(env);
  if (!envResult.success) {
    for (const issue of envResult.error.issues) problems.push(`${issue.path.join('.')}: ${issue.message}`);
  }
  const file = readConfigFile(env.LORABOT_CONFIG, options.cwd, problems);
  const merged = mergeConfig(DEFAULT_FILE_CONFIG, file.data ?? {});
  const fileResult = fileSchema.safeParse(merged);
  const where = file.path ? ` (in ${file.path})` : '';
  if (!fileResult.success) {
    for (const issue of fileResult.error.issues.flatMap(meantIssues)) {
      problems.push(`${issue.path.join('.') || '(top level)'}${where}: ${describeIssue(issue)}`);
    }
  }
  if (!envResult.success || !fileResult.success) return err(configError(problems));

  const e = envResult.data;
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
  const core = buildCoreSettings(fileResult.data, where, problems);
  if (problems.length > 0) return err(configError(problems));

  const f = fileResult.data;
  const config: Config = {
    together: {
      apiKey: e.TOGETHER_API_KEY,
      baseUrl: e.TOGETHER_BASE_URL,
      timeouts: {
        imageMs: f.together.timeouts.image_ms,
        chatMs: f.together.timeouts.chat_ms,
        streamIdleMs: f.together.timeouts.stream_idle_ms,
        streamTotalMs: f.together.timeouts.stream_total_ms,
        connectMs: f.together.timeouts.connect_ms,
      },
      retry: {
        maxRetries: f.together.retries.max_retries,
        baseDelayMs: f.together.retries.base_delay_ms,
        maxBackoffMs: f.together.retries.max_backoff_ms,
        maxServerDelayMs: f.together.retries.max_server_delay_ms,
      },
      download: { maxBytes: f.together.download.max_bytes, timeoutMs: f.together.download.timeout_ms },
      userAgent: USER_AGENT,
    },
    redisUrl: e.REDIS_URL,
    slack: e.SLACK_BOT_TOKEN
      ? {
          botToken: e.SLACK_BOT_TOKEN,
          signingSecret: e.SLACK_SIGNING_SECRET,
          appToken: e.SLACK_APP_TOKEN,
          apiUrl: e.SLACK_API_URL,
        }
      : null,
    discord:
      e.DISCORD_TOKEN && e.DISCORD_APPLICATION_ID
        ? { token: e.DISCORD_TOKEN, applicationId: e.DISCORD_APPLICATION_ID, apiUrl: e.DISCORD_API_URL }
        : null,
    http: { port: e.PORT, host: e.HOST },
    webPassword: e.LORABOT_WEB_PASSWORD,
    admin:
      e.LORABOT_ADMIN_USER && e.LORABOT_ADMIN_PASSWORD
        ? { user: e.LORABOT_ADMIN_USER, password: e.LORABOT_ADMIN_PASSWORD }
        : null,
    queue: {
      prefix: f.queue.prefix,
      attempts: f.queue.attempts,
      backoffMs: f.queue.backoff_ms,
      keepCompletedSeconds: f.queue.keep_completed_hours * 3600,
      keepFailedSeconds: f.queue.keep_failed_hours * 3600,
      lockMs: f.queue.lock_ms,
      stalledIntervalMs: f.queue.stalled_interval_ms,
      maxStalledCount: f.queue.max_stalled_count,
      image: {
        concurrency: f.queue.image.concurrency,
        rateLimit: smoothStartLimit(f.queue.image.rate_limit_per_minute),
      },
      chat: {
        concurrency: f.queue.chat.concurrency,
        rateLimit: smoothStartLimit(f.queue.chat.rate_limit_per_minute),
      },
    },
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    core: core!,
    budgets: {
      userPerDay: toMicros(f.budgets.user_per_day_usd),
      channelPerMonth: toMicros(f.budgets.channel_per_month_usd),
      workspacePerMonth: toMicros(f.budgets.workspace_per_month_usd),
    },
    confirmAboveMicros: toMicros(f.budgets.confirm_above_usd),
    contextTokens: f.chat.context_tokens,
    stream: {
      enabled: f.chat.stream.enabled,
      slackEditIntervalMs: f.chat.stream.slack_edit_interval_ms,
      discordEditIntervalMs: f.chat.stream.discord_edit_interval_ms,
    },
    access: {
      slack: { ...f.access.slack },
      discord: { ...f.access.discord },
      admins: { ...f.access.admins, web: [] },
    },
    configPath: file.path,
  };
  return ok(deepFreeze(config));
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
 * Objects merge key by key; the preset maps `loras` and `chat.models`, and `image.pricing` (whose variants have
 * different keys), are replaced whole when given.
 */
export function mergeConfig(base: unknown, override: unknown, path: string[] = []): unknown {
  const replaceWhole = ['loras', 'chat.models', 'image.pricing'].includes(path.join('.'));
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

function buildCoreSettings(
  f: z.output<typeof fileSchema>,
  where: string,
  problems: string[],
): CoreSettings | undefined {
  const start = problems.length;
  const b = f.image.bounds;
  const d = f.image.defaults;
  const add = (key: string, message: string) => problems.push(`${key}${where}: ${message}`);
  if (b.min_side > b.max_side) add('image.bounds.min_side', 'must not be larger than image.bounds.max_side');
  for (const name of ['steps', 'n', 'lora_scale'] as const) {
    if (b[name].min > b[name].max) add(`image.bounds.${name}`, 'min must not be larger than max');
  }
  for (const side of ['width', 'height'] as const) {
    const v = d[side];
    if (v < b.min_side || v > b.max_side || v % b.side_multiple !== 0) {
      add(
        `image.defaults.${side}`,
        `expected a multiple of ${b.side_multiple} from ${b.min_side} to ${b.max_side}, got ${v}`,
      );
    }
  }
  if (d.steps < b.steps.min || d.steps > b.steps.max)
    add('image.defaults.steps', `expected ${b.steps.min} to ${b.steps.max}`);
  if (d.n < b.n.min || d.n > b.n.max) add('image.defaults.n', `expected ${b.n.min} to ${b.n.max}`);

  const models: Record<string, ChatModel> = {};
  for (const [name, m] of Object.entries(f.chat.models)) {
    const model: ChatModel = {
      name: name.toLowerCase(),
      id: m.id,
      maxTokens: m.max_tokens,
      pricing: toChatPricing(m.pricing),
    };
    if (m.system_prompt) model.systemPrompt = m.system_prompt;
    if (m.description) model.description = m.description;
    models[model.name] = model;
  }
  const defaultModel = f.chat.default_model.toLowerCase();
  if (!models[defaultModel]) {
    add(
      'chat.default_model',
      `"${f.chat.default_model}" is not one of chat.models (${Object.keys(models).join(', ') || 'none'})`,
    );
  }

  const loras: Record<string, LoraPreset> = {};
  for (const [name, l] of Object.entries(f.loras)) {
    const url = parseLoraUrl(l.url);
    if (!url.success) add(`loras.${name}.url`, url.error.message.replaceAll('`', ''));
    if (l.scale < b.lora_scale.min || l.scale > b.lora_scale.max) {
      add(`loras.${name}.scale`, `expected ${b.lora_scale.min} to ${b.lora_scale.max}, got ${l.scale}`);
    }
    const preset: LoraPreset = {
      name: name.toLowerCase(),
      url: url.success ? url.data.url : l.url,
      scale: l.scale,
    };
    if (l.trigger) preset.trigger = l.trigger;
    if (l.description) preset.description = l.description;
    if (l.channels && l.channels.length > 0) preset.channels = l.channels;
    loras[preset.name] = preset;
  }
  if (problems.length > start) return undefined;

  return {
    image: {
      model: f.image.model,
      defaults: { ...d },
      bounds: {
        side: { min: b.min_side, max: b.max_side },
        sideMultiple: b.side_multiple,
        steps: { ...b.steps },
        n: { ...b.n },
        loraScale: { ...b.lora_scale },
        maxPromptChars: b.max_prompt_chars,
      },
      responseFormat: f.image.response_format,
      outputFormat: f.image.output_format,
      pricing: toImagePricing(f.image.pricing),
    },
    chat: { defaultModel, models, maxQuestionChars: f.chat.max_question_chars },
    loras,
  };
}

function toImagePricing(p: z.output<typeof imagePricing>): ImagePricing | null {
  if (!p) return null;
  if ('billed' in p) return { kind: 'per-minute' };
  if ('usd_per_image' in p) return { kind: 'per-image', microsPerImage: usdToMicros(p.usd_per_image)! };
  return {
    kind: 'per-megapixel',
    microsPerMegapixel: usdToMicros(p.usd_per_megapixel)!,
    megapixelPixels: p.megapixel_pixels,
    rounding: p.rounding,
    stepScaling: p.step_scaling_default_steps ? { defaultSteps: p.step_scaling_default_steps } : null,
  };
}

function toChatPricing(p: z.output<typeof chatPricing>): ChatPricing | null {
  if (!p) return null;
  if (p === 'auto') return { kind: 'auto' };
  if ('billed' in p) return { kind: 'per-minute' };
  return {
    kind: 'per-token',
    inputMicrosPerMTokens: usdToMicros(p.input_usd_per_m_tokens)!,
    outputMicrosPerMTokens: usdToMicros(p.output_usd_per_m_tokens)!,
  };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
