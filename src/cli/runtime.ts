import type { DiscordBot } from '../adapters/discord/discord-bot.js';
import { Metrics } from '../adapters/metrics/metrics.js';
import type { Config } from '../config/index.js';
import type { TogetherJobs } from '../core/finetune.js';
import { withRuntimeModels } from '../core/finetune-models.js';
import type { IntakeHook } from '../core/intake.js';
import type { Logger } from '../core/ports.js';
import type { ListedModel } from '../core/pricing.js';
import type { CoreSettings } from '../core/settings.js';
import type { JobProducer } from '../queue/job-producer.js';
import type { JobWorkers } from '../queue/job-worker.js';
import { ModelRegistry } from '../queue/model-registry.js';
import { SharedPriceList } from '../queue/price-list.js';
import { createRedis, waitReady } from '../queue/redis-connection.js';
import { RedisKeys } from '../queue/redis-keys.js';
import { type ResolvedRedis, resolveRedisUrl } from '../queue/redis-url.js';
import type { StepHook } from '../queue/step-journal.js';
import { CloserStack } from './closer-stack.js';
import { startGateway } from './start-gateway.js';
import { startWorker, togetherClientFor } from './start-worker.js';

/** A started lorabot process: what it runs, and the one way to stop it. */
export interface Running {
  /** The gateway's HTTP address, when it runs. */
  httpUrl?: string;
  /** Where the gateway's HTTP server is bound: the configured host and the real port (PORT=0 picks one). */
  listening?: { host: string; port: number };
  /** The Redis in use and how it was chosen. */
  redis: Pick<ResolvedRedis, 'url' | 'source'>;
  producer?: JobProducer;
  discord?: DiscordBot;
  metrics: Metrics;
  workers?: JobWorkers;
  /** Stops taking work, lets in-flight jobs finish or go back to the queue, closes everything once. */
  close(): Promise<void>;
}

/** How `startLorabot` starts: which roles, and what tests inject. */
export interface StartOptions {
  /** For tests: how often Together's price list is refreshed and re-read (`pricing: auto`); default a day and a minute. */
  priceList?: { refreshMs: number; pollMs: number };
  gateway: boolean;
  worker: boolean;
  /** Shared by the gateway and the worker of one process; `GET /metrics` serves it. */
  metrics?: Metrics;
  logger: Logger;
  cwd: string;
  /** For tests: an already resolved Redis. */
  redis?: ResolvedRedis;
  /** For crash tests: runs between each job step's platform call and its journal record (no config sets it). */
  afterStep?: StepHook;
  /** For crash tests: runs at each point of a gateway's launch between the claim and the queue (no config sets it). */
  afterIntake?: IntakeHook;
}

/** What the gateway and the worker of one process share; both put what they open on the one stack of closers. */
export interface RuntimeContext {
  config: Config;
  /** The Redis in use (resolved: a private one may have been started for it). */
  redisUrl: string;
  keys: RedisKeys;
  /**
   * The core settings, with Together's price list when a chat preset is priced `auto`, and the chat presets added
   * at run time merged under the config's.
   */
  settings: CoreSettings;
  /** The chat presets added at run time (Redis), shared by every process. */
  models: ModelRegistry;
  /** Together's fine-tune endpoints, in a process that runs the worker (the gateway alone never calls Together). */
  fineTunes?: TogetherJobs;
  metrics: Metrics;
  logger: Logger;
  closers: CloserStack;
}

/**
 * Starts the gateway, the worker, or both (`lorabot start`) over one stack of closers, and returns one handle that
 * closes them in reverse start order. When any part fails to start, what had started is closed before the error
 * is thrown.
 */
export async function startLorabot(config: Config, options: StartOptions): Promise<Running> {
  const { logger } = options;
  const closers = new CloserStack(logger);
  try {
    const redis =
      options.redis ?? (await resolveRedisUrl(config.redisUrl, options.cwd, config.redisClusterNodes));
    if (redis.stop) closers.push(redis.stop);
    logger.info({ source: redis.source }, 'using Redis');
    const keys = new RedisKeys(config.queue.prefix);
    const metrics = options.metrics ?? new Metrics();
    const models = await runtimeModels(redis.url, keys, closers, logger);
    const priced = await withPrices(config, { ...options, redisUrl: redis.url, keys, models }, closers);
    const settings = withRuntimeModels(priced, () => models.models());
    const context: RuntimeContext = {
      config,
      redisUrl: redis.url,
      keys,
      settings,
      models,
      metrics,
      logger,
      closers,
    };
    // The worker starts first, so a gateway that takes commands at once has someone to run them.
    const workers = options.worker
      ? await startWorker(context, options.afterStep ? { afterStep: options.afterStep } : {})
      : undefined;
    const gateway = options.gateway
      ? await startGateway(context, options.afterIntake ? { afterIntake: options.afterIntake } : {})
      : undefined;
    return {
      // The worker starts its grace period at once, while the gateway closes; the closers then wait for it.
      close: async () => {
        await Promise.all([workers?.close(), closers.close()]);
      },
      metrics,
      redis: { url: redis.url, source: redis.source },
      ...(workers ? { workers } : {}),
      ...gateway,
    };
  } catch (error) {
    await closers.close();
    throw error;
  }
}

/**
 * The runtime chat presets, read once now and then kept current in this process (an unreachable Redis leaves
 * them empty until it answers).
 */
async function runtimeModels(
  redisUrl: string,
  keys: RedisKeys,
  closers: CloserStack,
  logger: Logger,
): Promise<ModelRegistry> {
  const connection = createRedis(redisUrl, 'producer', 'models');
  closers.push(async () => connection.disconnect());
  const models = new ModelRegistry(connection, keys);
  const unfollow = models.follow(logger);
  closers.push(async () => unfollow());
  await waitReady(connection)
    .then(() => models.refresh())
    .catch(() => undefined);
  return models;
}

/**
 * The core settings this process runs with: when a chat preset is priced `auto`, with Together's price list,
 * shared through Redis and kept current. A worker fetches the list; a gateway only reads what workers stored,
 * since it never calls Together.
 */
async function withPrices(
  config: Config,
  options: StartOptions & { redisUrl: string; keys: RedisKeys; models: ModelRegistry },
  closers: CloserStack,
): Promise<CoreSettings> {
  // Runtime presets are priced `auto`: their rates come from the same list.
  const auto = Object.values(config.core.chat.models).some((m) => m.pricing?.kind === 'auto');
  if (!auto && Object.keys(options.models.models()).length === 0) return config.core;
  const connection = createRedis(options.redisUrl, 'producer', 'prices');
  closers.push(async () => connection.disconnect());
  let fetchModels: (() => Promise<ListedModel[]>) | undefined;
  if (options.worker && config.together.apiKey) {
    const together = togetherClientFor(config, options.logger, 1);
    closers.push(() => together.close());
    fetchModels = () => together.listModels();
  }
  const prices = new SharedPriceList({
    redis: connection,
    keys: options.keys,
    logger: options.logger,
    ...(fetchModels ? { fetchModels } : {}),
    ...(options.priceList ?? {}),
  });
  closers.push(async () => prices.close());
  // Redis may still be connecting; a list that cannot load now is loaded by the next poll.
  await waitReady(connection).catch(() => undefined);
  await prices.start();
  return { ...config.core, prices };
}
