import { DEFAULT_DOWNLOAD_LIMITS } from '../adapters/together/image-download.js';
import { DEFAULT_RETRY_OPTIONS } from '../adapters/together/retry-policy.js';
import { DEFAULT_TIMEOUTS } from '../adapters/together/together-client.js';
import { DEFAULT_VISION_LIMITS } from '../core/vision.js';
import type { FileConfig } from './schema.js';

/**
 * Every built-in default, defined once: the zod schemas take the defaults of keys inside a value given whole (a
 * pricing object, a preset) and of the environment variables from here, the Together client's timeouts, retries and
 * download limits come from the client, and lorabot.config.example.yaml shows the same values (a test keeps the
 * two equal).
 */

/** The log levels pino knows, from loudest to silent. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Environment variables that have a default (HOST's depends on the platforms: see defaultHost). */
export const ENV_DEFAULTS = {
  TOGETHER_BASE_URL: 'https://api.together.ai/v1',
  SLACK_API_URL: 'https://slack.com/api/',
  DISCORD_API_URL: 'https://discord.com/api',
  PORT: 3000,
  LOG_LEVEL: 'info',
} as const;

/** What `image.pricing: { usd_per_megapixel: … }` means for the keys it leaves out. */
export const PER_MEGAPIXEL_DEFAULTS = {
  megapixel_pixels: 1_000_000,
  rounding: 'up',
  step_scaling_default_steps: null,
} as const;

/** What a LoRA preset means for the keys it leaves out. */
export const LORA_PRESET_DEFAULTS = { scale: 1 } as const;

/** Every interface: reachable from other machines, as Slack and Discord need. */
export const PUBLIC_HOST = '0.0.0.0';
/** This machine only. */
export const LOOPBACK_HOST = '127.0.0.1';

/**
 * The HTTP server's address when HOST is unset: with Slack or Discord configured, every interface (their events
 * and interactions must reach it); with neither, only this machine, where the web playground works without a
 * password (on a public address it refuses to serve without one).
 */
export function defaultHost(platforms: { slack: boolean; discord: boolean }): string {
  return platforms.slack || platforms.discord ? PUBLIC_HOST : LOOPBACK_HOST;
}

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
    discord: { guilds: [], channels: [], dms: true, user_installs: true },
    admins: { slack: [], discord: [] },
  },
  redis: { cluster_nodes: [] },
  // `/ask watch`: how often a watched fine-tune or upload is polled while it works, and while it waits.
  watch: { poll_running_ms: 30_000, poll_waiting_ms: 300_000 },
  queue: {
    prefix: '{lorabot}',
    attempts: 3,
    backoff_ms: 5000,
    keep_completed_hours: 24,
    keep_failed_hours: 168,
    lock_ms: 30_000,
    stalled_interval_ms: 30_000,
    max_stalled_count: 2,
    per_person_max_jobs: 5,
    // Below Docker's 10 s and Kubernetes' 30 s before SIGKILL, leaving time to hand jobs back and close.
    shutdown_grace_ms: 8000,
    image: { concurrency: 2, rate_limit_per_minute: 10 },
    chat: { concurrency: 8, rate_limit_per_minute: 60 },
  },
  together: {
    // The Together client's own defaults, so that a client made without a config behaves the same.
    timeouts: {
      image_ms: DEFAULT_TIMEOUTS.imageMs,
      chat_ms: DEFAULT_TIMEOUTS.chatMs,
      stream_idle_ms: DEFAULT_TIMEOUTS.streamIdleMs,
      stream_total_ms: DEFAULT_TIMEOUTS.streamTotalMs,
      connect_ms: DEFAULT_TIMEOUTS.connectMs,
    },
    retries: {
      max_retries: DEFAULT_RETRY_OPTIONS.maxRetries,
      base_delay_ms: DEFAULT_RETRY_OPTIONS.baseDelayMs,
      max_backoff_ms: DEFAULT_RETRY_OPTIONS.maxBackoffMs,
      max_server_delay_ms: DEFAULT_RETRY_OPTIONS.maxServerDelayMs,
    },
    download: {
      max_bytes: DEFAULT_DOWNLOAD_LIMITS.maxBytes,
      timeout_ms: DEFAULT_DOWNLOAD_LIMITS.timeoutMs,
    },
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
    pricing: { usd_per_megapixel: 0.035, ...PER_MEGAPIXEL_DEFAULTS },
    // FLUX.2 [dev] takes source images only as `reference_images` (Together's image-to-image page), and LoRAs.
    edit: {
      model: 'black-forest-labs/FLUX.2-dev',
      input: 'reference_images',
      max_images: 4,
      loras: true,
      pricing: { usd_per_megapixel: 0.035, ...PER_MEGAPIXEL_DEFAULTS },
    },
  },
  chat: {
    default_model: 'default',
    max_question_chars: 8000,
    context_tokens: 3000,
    max_images: DEFAULT_VISION_LIMITS.maxImages,
    max_image_mb: DEFAULT_VISION_LIMITS.maxImageMb,
    stream: { enabled: true, slack_edit_interval_ms: 1200, discord_edit_interval_ms: 1000 },
    models: {
      default: {
        id: 'meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo',
        system_prompt: 'You are a helpful assistant in a team chat. Answer briefly and clearly.',
        max_tokens: 1024,
        description: 'Llama 3.1 8B Instruct Turbo',
        pricing: { input_usd_per_m_tokens: 0.18, output_usd_per_m_tokens: 0.18 },
        vision: false,
      },
    },
  },
  gateway: { public_url: null },
  sources: {
    max_bytes: 20 * 1024 * 1024,
    timeout_ms: 20_000,
    image_as: 'link',
    link_ttl_seconds: 900,
    keep_results_hours: 6,
    probe_links: true,
    probe_timeout_ms: 3000,
    probe_private_hosts: false,
  },
  loras: {
    tarot: {
      url: 'https://huggingface.co/multimodalart/flux-tarot-v1',
      trigger: 'in the style of TOK a trtcrd tarot style',
      ...LORA_PRESET_DEFAULTS,
      description: 'Tarot-card illustration style',
    },
  },
};
