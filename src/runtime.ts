import { hostname } from 'node:os';
import { CliDeliverer } from './adapters/cli/cli-deliverer.js';
import type { DiscordBot } from './adapters/discord/discord-bot.js';
import { GatewayServer } from './adapters/http/gateway-server.js';
import { Metrics } from './adapters/metrics/metrics.js';
import { createSlackDeliverer } from './adapters/slack/slack-deliverer.js';
import { TogetherClient } from './adapters/together/together-client.js';
import { buildDashboard } from './adapters/web/dashboard-data.js';
import { webAccess } from './adapters/web/web-auth.js';
import { WebDeliverer } from './adapters/web/web-deliverer.js';
import { createWebRoutes, webAssetsDir } from './adapters/web/web-routes.js';
import { InboundService } from './app/inbound-service.js';
import type { Config } from './config/index.js';
import { defaultSizeWarning } from './core/image-size.js';
import type { Logger } from './core/ports.js';
import type { ListedModel } from './core/pricing.js';
import type { CoreSettings } from './core/settings.js';
import { GatewayStore } from './queue/gateway-store.js';
import { JobProducer } from './queue/job-producer.js';
import { JobWorkers } from './queue/job-worker.js';
import { Ledger } from './queue/ledger.js';
import { SharedPriceList } from './queue/price-list.js';
import { createRedis, waitReady } from './queue/redis-connection.js';
import { RedisKeys } from './queue/redis-keys.js';
import { type ResolvedRedis, resolveRedisUrl } from './queue/redis-url.js';
import { WebDashboardSource } from './queue/web-dashboard-source.js';
import { WebEventLog } from './queue/web-events.js';
import { WebSessions } from './queue/web-sessions.js';

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
}

/** Starts the gateway, the worker, or both (`lorabot start`), and returns one handle that closes them in reverse. */
export async function startLorabot(config: Config, options: StartOptions): Promise<Running> {
  const { logger } = options;
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const closer of closers.reverse()) {
      await closer().catch((error: unknown) => logger.warn({ err: String(error) }, 'error while closing'));
    }
    closers.length = 0;
  };
  try {
    const redis = options.redis ?? (await resolveRedisUrl(config.redisUrl, options.cwd));
    if (redis.stop) closers.push(redis.stop);
    logger.info({ source: redis.source }, 'using Redis');
    const keys = new RedisKeys(config.queue.prefix);
    const metrics = options.metrics ?? new Metrics();
    const running: Running = { close, metrics, redis: { url: redis.url, source: redis.source } };
    const settings = await withPrices(config, { ...options, redisUrl: redis.url, keys }, closers);

    if (options.worker) {
      const connection = createRedis(redis.url, 'worker', 'worker');
      closers.push(async () => connection.disconnect());
      const together = new TogetherClient({
        baseUrl: config.together.baseUrl,
        apiKey: config.together.apiKey,
        timeouts: config.together.timeouts,
        retry: config.together.retry,
        download: config.together.download,
        userAgent: config.together.userAgent,
        // One connection per job that may run at once, so concurrency is not capped by the pool.
        maxConnections: config.queue.image.concurrency + config.queue.chat.concurrency,
        logger,
      });
      closers.push(() => together.close());
      // discord.js loads only when Discord is configured.
      const { DiscordDeliverer } = config.discord
        ? await import('./adapters/discord/discord-deliverer.js')
        : { DiscordDeliverer: undefined };
      const deliverers = {
        cli: new CliDeliverer(),
        web: new WebDeliverer(new WebEventLog(connection, keys)),
        ...(config.slack
          ? {
              slack: createSlackDeliverer(
                config.slack.botToken,
                config.slack.apiUrl,
                logger,
                config.stream.enabled ? config.stream.slackEditIntervalMs : undefined,
              ),
            }
          : {}),
        ...(config.discord && DiscordDeliverer
          ? {
              discord: new DiscordDeliverer({
                token: config.discord.token,
                apiUrl: config.discord.apiUrl,
                ...(config.stream.enabled ? { editIntervalMs: config.stream.discordEditIntervalMs } : {}),
              }),
            }
          : {}),
      };
      const workers = new JobWorkers({
        connection,
        keys,
        settings,
        images: together,
        chat: together,
        deliverers,
        limits: { image: config.queue.image, chat: config.queue.chat },
        recovery: config.queue,
        telemetry: metrics,
        name: `${hostname()}:${process.pid}`,
        logger,
      });
      closers.push(() => workers.close());
      running.workers = workers;
      logger.info({ slack: Boolean(config.slack), discord: Boolean(config.discord) }, 'worker started');
    }

    if (options.gateway) {
      const sizeWarning = defaultSizeWarning(config.core.image);
      if (sizeWarning) logger.warn({ key: 'image.defaults' }, sizeWarning);
      const connection = createRedis(redis.url, 'producer', 'gateway');
      closers.push(async () => connection.disconnect());
      // The producer fails fast while Redis is away; start taking commands only once it is there.
      await waitReady(connection);
      const producer = new JobProducer(connection, keys, {
        ...config.queue,
        concurrency: { flux: config.queue.image.concurrency, ask: config.queue.chat.concurrency },
      });
      closers.push(() => producer.close());
      running.producer = producer;
      const intake = {
        settings,
        budgets: config.budgets,
        spend: new Ledger(connection, keys),
        now: Date.now,
        telemetry: metrics,
        queue: producer,
        state: new GatewayStore(connection, keys),
        access: config.access,
        confirmAboveMicros: config.confirmAboveMicros,
        contextTokens: config.contextTokens,
      };
      metrics.watchQueues(async () => ({
        image: await producer.queues.image.getJobCounts(),
        chat: await producer.queues.chat.getJobCounts(),
      }));
      // Bolt, discord.js and Bull Board load only where they run, so a worker process does not carry them.
      const slack = config.slack
        ? (await import('./adapters/slack/slack-app.js')).createSlackGateway(
            { ...config.slack, logger },
            { ...intake, logger },
          )
        : undefined;
      const adminBoard = config.admin ? (await import('./queue/admin-board.js')).createAdminBoard : undefined;
      const webEvents = new WebEventLog(connection, keys);
      const dashboard = new WebDashboardSource(
        [producer.queues.image, producer.queues.chat],
        intake.spend,
        webEvents,
      );
      const web = createWebRoutes({
        access: webAccess(config.http.host, config.webPassword),
        host: config.http.host,
        sessions: new WebSessions(connection, keys),
        events: webEvents,
        inbound: new InboundService({ ...intake, logger }),
        now: Date.now,
        dashboard: async () =>
          buildDashboard({ ...(await dashboard.read(Date.now())), budgets: config.budgets }),
        assetsDir: webAssetsDir(),
        logger,
      });
      const server = new GatewayServer({
        web,
        metrics: () => metrics.render(),
        ...(config.admin && adminBoard
          ? {
              admin: {
                ...config.admin,
                listener: adminBoard([producer.queues.image, producer.queues.chat]),
              },
            }
          : {}),
        ...(slack?.httpListener ? { slack: slack.httpListener } : {}),
        health: async () => {
          try {
            await connection.ping();
            return { ok: true, body: { redis: 'ok' } };
          } catch {
            return { ok: false, body: { redis: 'unreachable' } };
          }
        },
      });
      const address = await server.listen(config.http.port, config.http.host);
      closers.push(() => server.close());
      running.httpUrl = address.url;
      running.listening = { host: config.http.host, port: address.port };
      if (slack) {
        await slack.start();
        closers.push(() => slack.stop());
      }
      if (config.discord) {
        const { DiscordBot } = await import('./adapters/discord/discord-bot.js');
        const discord: DiscordBot = new DiscordBot({
          ...config.discord,
          ...intake,
          logger,
        });
        await discord.start();
        closers.push(() => discord.stop());
        running.discord = discord;
      }
      logger.info(
        {
          url: address.url,
          discord: Boolean(config.discord),
          slack: config.slack ? (config.slack.appToken ? 'socket-mode' : 'http') : 'off',
        },
        'gateway listening',
      );
    }
    return running;
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * The core settings this process runs with: when a chat preset is priced `auto`, with Together's price list,
 * shared through Redis and kept current. A worker fetches the list; a gateway only reads what workers stored,
 * since it never calls Together.
 */
async function withPrices(
  config: Config,
  options: StartOptions & { redisUrl: string; keys: RedisKeys },
  closers: Array<() => Promise<void>>,
): Promise<CoreSettings> {
  if (!Object.values(config.core.chat.models).some((m) => m.pricing?.kind === 'auto')) return config.core;
  const connection = createRedis(options.redisUrl, 'producer', 'prices');
  closers.push(async () => connection.disconnect());
  let fetchModels: (() => Promise<ListedModel[]>) | undefined;
  if (options.worker && config.together.apiKey) {
    const together = new TogetherClient({
      baseUrl: config.together.baseUrl,
      apiKey: config.together.apiKey,
      timeouts: config.together.timeouts,
      retry: config.together.retry,
      maxConnections: 1,
      userAgent: config.together.userAgent,
      logger: options.logger,
    });
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
