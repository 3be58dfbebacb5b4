import { z } from 'zod';
import { isLoopback } from '../adapters/web/web-auth.js';
import { usdToMicros } from '../core/money.js';
import { ENV_DEFAULTS, LOG_LEVELS, LORA_PRESET_DEFAULTS, PER_MEGAPIXEL_DEFAULTS } from './defaults.js';

/**
 * What a valid config file and environment look like, as zod schemas. The values used when a key or variable is
 * left out live in defaults.ts, once.
 */

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

/** A Redis Cluster node, `host:port`. */
const clusterNode = z.string().regex(/^[^\s:,@/]+:\d{1,5}$/, 'expected host:port, e.g. 10.0.0.5:6379');

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
        megapixel_pixels: z
          .union([z.literal(1_000_000), z.literal(1_048_576)])
          .default(PER_MEGAPIXEL_DEFAULTS.megapixel_pixels),
        rounding: z.enum(['up', 'none']).default(PER_MEGAPIXEL_DEFAULTS.rounding),
        step_scaling_default_steps: positiveInt
          .nullable()
          .default(PER_MEGAPIXEL_DEFAULTS.step_scaling_default_steps),
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

/** The config file, every key required: the file is merged over DEFAULT_FILE_CONFIG before it is checked. */
export const fileSchema = z.strictObject({
  budgets: z.strictObject({
    user_per_day_usd: limit,
    channel_per_month_usd: limit,
    workspace_per_month_usd: limit,
    confirm_above_usd: limit,
  }),
  access: z.strictObject({
    slack: z.strictObject({ workspaces: ids, channels: ids }),
    discord: z.strictObject({ guilds: ids, channels: ids, dms: z.boolean(), user_installs: z.boolean() }),
    admins: z.strictObject({ slack: ids, discord: ids }),
  }),
  redis: z.strictObject({ cluster_nodes: z.array(clusterNode) }),
  watch: z.strictObject({
    poll_running_ms: z.number().int().min(100),
    poll_waiting_ms: z.number().int().min(100),
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
    per_person_max_jobs: z.number().int().min(1).max(1000).nullable(),
    shutdown_grace_ms: z.number().int().min(0).max(600_000),
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
    edit: z.strictObject({
      model: z.string().min(1),
      input: z.enum(['image_url', 'reference_images']),
      // FLUX.2 pro/flex take up to 8 reference images through BFL's API; none is documented to take more.
      max_images: z.number().int().min(1).max(8),
      loras: z.boolean(),
      pricing: imagePricing,
    }),
  }),
  chat: z.strictObject({
    default_model: z.string().min(1),
    max_question_chars: positiveInt,
    context_tokens: positiveInt,
    max_images: positiveInt,
    max_image_mb: z.number().positive(),
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
        vision: z.boolean().default(false),
      }),
    ),
  }),
  gateway: z.strictObject({
    public_url: z
      .string()
      .regex(
        /^https:\/\/[^\s/?#]+(\/[^\s?#]*)?$/,
        'expected the https address Together can reach the gateway at, e.g. https://lorabot.example.com',
      )
      .nullable(),
  }),
  sources: z.strictObject({
    max_bytes: positiveInt.max(50 * 1024 * 1024),
    timeout_ms: positiveInt,
    image_as: z.enum(['link', 'data_url']),
    link_ttl_seconds: z.number().int().min(60).max(86_400),
    keep_results_hours: z.number().int().min(0).max(168),
    probe_links: z.boolean(),
    probe_timeout_ms: z.number().int().min(100).max(30_000),
    probe_private_hosts: z.boolean(),
  }),
  loras: z.record(
    z.string().regex(/^[a-z0-9][a-z0-9_-]*$/i, 'preset names are letters, digits, - and _'),
    z.strictObject({
      url: z.string().min(1),
      trigger: z.string().optional(),
      scale: z.number().default(LORA_PRESET_DEFAULTS.scale),
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

/** The environment variables lorabot reads. */
export const envSchema = z.object({
  TOGETHER_API_KEY: secret().optional(),
  TOGETHER_BASE_URL: httpsUnlessLoopback().default(ENV_DEFAULTS.TOGETHER_BASE_URL),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\/\S+$/, 'expected a redis:// or rediss:// URL')
    .optional(),
  REDIS_CLUSTER_NODES: z
    .string()
    .regex(
      /^[^\s:,@/]+:\d{1,5}(,[^\s:,@/]+:\d{1,5})*$/,
      'expected host:port,host:port,… (the nodes of a Redis Cluster)',
    )
    .optional(),
  SLACK_BOT_TOKEN: secret().optional(),
  SLACK_SIGNING_SECRET: secret().optional(),
  SLACK_APP_TOKEN: secret().optional(),
  SLACK_API_URL: httpUrl().default(ENV_DEFAULTS.SLACK_API_URL),
  DISCORD_TOKEN: secret().optional(),
  DISCORD_APPLICATION_ID: z
    .string()
    .regex(/^\d{1,25}$/, 'expected the numeric application id')
    .optional(),
  DISCORD_API_URL: httpUrl().default(ENV_DEFAULTS.DISCORD_API_URL),
  PORT: z.coerce.number().int().min(0).max(65535).default(ENV_DEFAULTS.PORT),
  // No default here: the default depends on which platforms are configured (see defaultHost).
  HOST: z.string().min(1).optional(),
  LORABOT_CONFIG: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS).default(ENV_DEFAULTS.LOG_LEVEL),
  LOG_FORMAT: z.enum(['pretty', 'json']).optional(),
  LORABOT_ADMIN_USER: z.string().min(1).optional(),
  LORABOT_ADMIN_PASSWORD: secret().pipe(z.string().min(12, 'expected at least 12 characters')).optional(),
  LORABOT_ADMIN_WRITE: z
    .enum(['0', '1'], { error: 'expected 1 (the board may change jobs) or 0' })
    .optional(),
  LORABOT_WEB_PASSWORD: secret().optional(),
  LORABOT_METRICS_TOKEN: secret().optional(),
});

/**
 * The variables that hold secrets. An empty or blank one is a mistake (a line of .env left unfilled, a variable
 * expanded from nothing), never a way to turn something off: it is reported, naming the variable.
 */
export const SECRET_VARIABLES: ReadonlySet<string> = new Set([
  'TOGETHER_API_KEY',
  'SLACK_BOT_TOKEN',
  'SLACK_SIGNING_SECRET',
  'SLACK_APP_TOKEN',
  'DISCORD_TOKEN',
  'LORABOT_ADMIN_PASSWORD',
  'LORABOT_WEB_PASSWORD',
  'LORABOT_METRICS_TOKEN',
]);

function secret() {
  return z
    .string()
    .refine(
      (value) => value.trim() !== '',
      'is empty or only spaces: give it a value, or unset the variable',
    );
}

/** Together's key travels in every request: only https, or plain http to this machine (a local proxy, a fake). */
function httpsUnlessLoopback() {
  return httpUrl().refine(
    (value) => value.startsWith('https://') || isLoopbackUrl(value),
    'expected an https URL (plain http only to 127.0.0.0/8, ::1 or localhost)',
  );
}

function isLoopbackUrl(value: string): boolean {
  try {
    return isLoopback(new URL(value).hostname);
  } catch {
    return false;
  }
}

function httpUrl() {
  return z.string().regex(/^https?:\/\/\S+$/, 'expected an http(s) URL');
}

/** The config file as written (before defaults). */
export type FileConfig = z.input<typeof fileSchema>;
/** The config file after checking. */
export type FileSettings = z.output<typeof fileSchema>;
/** The environment after checking. */
export type EnvSettings = z.output<typeof envSchema>;
