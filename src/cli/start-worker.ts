import { hostname } from 'node:os';
import { CliDeliverer } from '../adapters/cli/cli-deliverer.js';
import { createSlackClient, createSlackDeliverer } from '../adapters/slack/slack-deliverer.js';
import { createSlackFileSource } from '../adapters/slack/slack-files.js';
import { SlackHome } from '../adapters/slack/slack-home.js';
import { SlackStatusRecovery } from '../adapters/slack/slack-status.js';
import { TogetherClient } from '../adapters/together/together-client.js';
import { TogetherJobsClient } from '../adapters/together/together-jobs.js';
import { WebDeliverer } from '../adapters/web/web-deliverer.js';
import { WebStatusRecovery } from '../adapters/web/web-status.js';
import type { Config } from '../config/index.js';
import type { Logger } from '../core/ports.js';
import { BudgetReservations } from '../queue/budget-reservations.js';
import { GatewayStore } from '../queue/gateway-store.js';
import { HomeStore } from '../queue/home-store.js';
import { IntakeSweeper } from '../queue/intake-sweeper.js';
import { InteractionTokenStore } from '../queue/interaction-tokens.js';
import { JobProducer } from '../queue/job-producer.js';
import { type JobWorkerOptions, JobWorkers } from '../queue/job-worker.js';
import { Ledger } from '../queue/ledger.js';
import { createRedis } from '../queue/redis-connection.js';
import { SourceFiles } from '../queue/source-files.js';
import { RedisSourceResolver } from '../queue/source-resolver.js';
import { StepJournal } from '../queue/step-journal.js';
import { WatchPoller, type WatchPollerOptions } from '../queue/watch-poller.js';
import { WebEventLog } from '../queue/web-events.js';
import type { RuntimeContext } from './runtime.js';

/**
 * Starts the worker: the image and chat job workers, with a Together client and a deliverer per configured
 * platform. Everything it opens goes onto the context's closers, in start order.
 */
export async function startWorker(
  context: RuntimeContext,
  hooks: Pick<JobWorkerOptions, 'afterStep'> = {},
): Promise<JobWorkers> {
  const { config, keys, logger, closers } = context;
  const connection = createRedis(context.redisUrl, 'worker', 'worker');
  closers.push(async () => connection.disconnect());
  // One connection per job that may run at once, so concurrency is not capped by the pool.
  const together = togetherClientFor(
    config,
    logger,
    config.queue.image.concurrency + config.queue.chat.concurrency,
  );
  closers.push(() => together.close());
  const deliverers = await deliverersFor(context, connection);
  const workers = new JobWorkers({
    models: context.models,
    connection,
    keys,
    settings: context.settings,
    images: together,
    chat: together,
    sources: sourceResolver(context, connection),
    keepResultsSeconds: config.sources.keepResultsSeconds,
    deliverers,
    limits: { image: config.queue.image, chat: config.queue.chat },
    recovery: config.queue,
    telemetry: context.metrics,
    name: `${hostname()}:${process.pid}`,
    logger,
    ...hooks,
  });
  closers.push(() => workers.close());
  startWatchPoller(context, connection, deliverers);
  await startIntakeSweeper(context, connection);
  logger.info({ slack: Boolean(config.slack), discord: Boolean(config.discord) }, 'worker started');
  return workers;
}

/**
 * The watch poller (`/ask watch`), with its own Together client for the fine-tune and job endpoints; the gateway
 * of this process (`lorabot start`) uses that client for `/ask finetune`.
 */
function startWatchPoller(
  context: RuntimeContext,
  connection: ReturnType<typeof createRedis>,
  deliverers: JobWorkerOptions['deliverers'],
): void {
  const { config, keys, logger, closers } = context;
  const jobs = new TogetherJobsClient({
    baseUrl: config.together.baseUrl,
    apiKey: config.together.apiKey,
    userAgent: config.together.userAgent,
  });
  closers.push(() => jobs.close());
  context.fineTunes = jobs;
  const poller = new WatchPoller({
    connection,
    keys,
    together: jobs,
    deliverers: deliverers as WatchPollerOptions['deliverers'],
    cadence: config.watch,
    recovery: { lockMs: config.queue.lockMs, stalledIntervalMs: config.queue.stalledIntervalMs },
    logger,
  });
  closers.push(() => poller.close());
}

/**
 * The recovery of requests whose gateway stopped between the claim and the queue (see `IntakeSweeper`), swept
 * every few seconds until the worker closes.
 */
async function startIntakeSweeper(
  context: RuntimeContext,
  connection: ReturnType<typeof createRedis>,
): Promise<void> {
  const { config, keys, logger, closers } = context;
  const producer = new JobProducer(connection, keys, config.queue);
  closers.push(() => producer.close());
  const sweeper = await createIntakeSweeper(config, { connection, keys, logger, producer });
  const stop = sweeper.start();
  closers.push(async () => stop());
}

/**
 * A worker's intake sweeper: it admits as the gateway does (the config's budgets and cap) and posts statuses on
 * each platform this worker delivers to. `now`: for tests that sweep as if a minute had passed.
 */
export async function createIntakeSweeper(
  config: Config,
  parts: {
    connection: ReturnType<typeof createRedis>;
    keys: RuntimeContext['keys'];
    logger: Logger;
    producer: JobProducer;
    now?: () => number;
  },
): Promise<IntakeSweeper> {
  const { connection, keys, logger, producer } = parts;
  const discord = config.discord
    ? new (await import('../adapters/discord/discord-status.js')).DiscordStatusRecovery({
        token: config.discord.token,
        apiUrl: config.discord.apiUrl,
        interactionTokens: producer.interactionTokens,
      })
    : undefined;
  const slack = config.slack
    ? new SlackStatusRecovery(createSlackClient(config.slack.botToken, config.slack.apiUrl, logger))
    : undefined;
  const webEvents = new WebEventLog(connection, keys);
  return new IntakeSweeper({
    intake: producer.intake,
    producer,
    admission: new BudgetReservations(connection, keys, {
      budgets: config.budgets,
      perPersonMaxJobs: config.queue.perPersonMaxJobs,
    }),
    recovery: {
      web: new WebStatusRecovery(new WebDeliverer(webEvents), webEvents),
      ...(slack ? { slack } : {}),
      ...(discord ? { discord } : {}),
    },
    logger,
    holder: `${hostname()}:${process.pid}`,
    ...(parts.now ? { now: parts.now } : {}),
  });
}

/** The worker's source image resolver: Slack downloads with the bot token, when Slack is configured. */
function sourceResolver(
  { config, keys, closers, logger }: RuntimeContext,
  connection: ReturnType<typeof createRedis>,
): RedisSourceResolver {
  const { sources } = config;
  const slackFiles = config.slack
    ? createSlackFileSource({
        botToken: config.slack.botToken,
        apiUrl: config.slack.apiUrl,
        maxBytes: sources.maxBytes,
        timeoutMs: sources.timeoutMs,
      })
    : undefined;
  if (slackFiles) closers.push(() => slackFiles.close());
  if (sources.imageAs === 'link' && !sources.publicUrl) {
    logger.warn(
      { key: 'gateway.public_url' },
      'gateway.public_url is not set: image requests that start from a Slack file, an upload or an earlier result (Vary, Edit) will fail until it is',
    );
  }
  return new RedisSourceResolver({
    files: new SourceFiles(connection, keys),
    journal: new StepJournal(connection, keys),
    slackFiles,
    imageAs: sources.imageAs,
    publicUrl: sources.publicUrl,
    linkTtlSeconds: sources.linkTtlSeconds,
  });
}

/** A Together client for this config, allowed `maxConnections` connections at once. */
export function togetherClientFor(config: Config, logger: Logger, maxConnections: number): TogetherClient {
  return new TogetherClient({ ...config.together, maxConnections, logger });
}

/** One deliverer per platform a job can come from: the CLI and the web page always, Slack and Discord when set. */
async function deliverersFor(
  context: RuntimeContext,
  connection: ReturnType<typeof createRedis>,
): Promise<JobWorkerOptions['deliverers']> {
  const { config, keys, logger } = context;
  // discord.js loads only when Discord is configured.
  const discord = config.discord
    ? new (await import('../adapters/discord/discord-deliverer.js')).DiscordDeliverer({
        token: config.discord.token,
        apiUrl: config.discord.apiUrl,
        interactionTokens: new InteractionTokenStore(connection, keys),
        logger,
        ...(config.stream.enabled ? { editIntervalMs: config.stream.discordEditIntervalMs } : {}),
      })
    : undefined;
  const slack = config.slack
    ? createSlackDeliverer(config.slack.botToken, config.slack.apiUrl, logger, {
        editIntervalMs: config.stream.enabled ? config.stream.slackEditIntervalMs : undefined,
        hooks: { jobEnded: slackHome(context, connection).jobEnded },
      })
    : undefined;
  return {
    cli: new CliDeliverer(),
    web: new WebDeliverer(new WebEventLog(connection, keys)),
    ...(slack ? { slack } : {}),
    ...(discord ? { discord } : {}),
  };
}

/** The Home tabs a Slack worker publishes again when a person's job ends. */
function slackHome(
  { config, keys, logger, closers, settings }: RuntimeContext,
  connection: ReturnType<typeof createRedis>,
): { jobEnded: SlackHome['jobEnded'] } {
  const slack = config.slack!;
  const home = new SlackHome(
    createSlackClient(slack.botToken, slack.apiUrl, logger),
    new HomeStore(connection, keys, {
      ledger: new Ledger(connection, keys),
      state: new GatewayStore(connection, keys),
      budgets: config.budgets,
      settings,
    }),
    { logger },
  );
  closers.push(() => home.close());
  return { jobEnded: (target, ended) => home.jobEnded(target, ended) };
}
