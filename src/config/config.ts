import type { RetryOptions } from '../adapters/together/retry-policy.js';
import type { TogetherTimeouts } from '../adapters/together/together-client.js';
import type { AccessRules } from '../core/access.js';
import type { Budgets } from '../core/budget.js';
import type { WatchCadence } from '../core/finetune.js';
import type { StartLimit } from '../core/rate-limit.js';
import type { CoreSettings } from '../core/settings.js';

/**
 * Everything lorabot is configured with. `loadConfig` is the one reader of `process.env` and the config file:
 * everything is validated once, at start-up, into a frozen `Config`; a bad value stops the process with one
 * message that lists every problem.
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
  /** A Redis Cluster's nodes (`REDIS_CLUSTER_NODES`, else `redis.cluster_nodes`); empty: one Redis (`redisUrl`). */
  redisClusterNodes: ReadonlyArray<{ host: string; port: number }>;
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
  /** Whether the board may change jobs (retry, clean, promote, add); false: read-only. */
  adminWrite: boolean;
  /** When set, `GET /metrics` needs `Authorization: Bearer <token>`; undefined: open. */
  metricsToken: string | undefined;
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
    /** Jobs one person may have waiting or running at once; null: no cap. */
    perPersonMaxJobs: number | null;
    /** On SIGTERM/SIGINT, how long running jobs may take to finish before they are handed back to the queue. */
    shutdownGraceMs: number;
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
  /** `/ask watch`: how often a watched job is polled while it works (`activeMs`) and while it waits. */
  watch: WatchCadence;
  /**
   * Source images (Slack files, lorabot's own results, uploads): the download limits, how image requests carry
   * them (`link`: a `/files/<token>` link on the gateway's public address; `data_url`: inline), how long a link
   * works, and how long an image job's images are kept after delivery for Vary and Edit.
   */
  sources: {
    maxBytes: number;
    timeoutMs: number;
    imageAs: 'link' | 'data_url';
    /** `gateway.public_url` without a trailing slash; undefined: no `/files` link can be made. */
    publicUrl: string | undefined;
    linkTtlSeconds: number;
    keepResultsSeconds: number;
    /**
     * `--image` links looked at before queueing (`sources.probe_*`): off, or within `timeoutMs`, refusing private
     * and loopback addresses unless `allowPrivate`.
     */
    probe: { enabled: boolean; timeoutMs: number; allowPrivate: boolean };
  };
  /** The config file read, if any. */
  configPath: string | undefined;
}
