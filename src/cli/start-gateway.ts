import type { DiscordBot } from '../adapters/discord/discord-bot.js';
import { GatewayServer } from '../adapters/http/gateway-server.js';
import { linkProbeFrom } from '../adapters/http/link-probe.js';
import type { SlackGateway } from '../adapters/slack/slack-app.js';
import { buildDashboard } from '../adapters/web/dashboard-data.js';
import { webAccess } from '../adapters/web/web-auth.js';
import { createWebRoutes, webAssetsDir } from '../adapters/web/web-routes.js';
import { InboundService } from '../app/inbound-service.js';
import type { InboundDeps } from '../app/intake.js';
import { errorText } from '../app/launch.js';
import type { Config } from '../config/index.js';
import { defaultSizeWarning } from '../core/image-size.js';
import type { InteractionTokens } from '../core/jobs.js';
import { BudgetReservations } from '../queue/budget-reservations.js';
import { FeedbackStore } from '../queue/feedback-store.js';
import { GatewayStore } from '../queue/gateway-store.js';
import { HomeStore } from '../queue/home-store.js';
import { JobProducer } from '../queue/job-producer.js';
import { Ledger } from '../queue/ledger.js';
import { createRedis, waitReady } from '../queue/redis-connection.js';
import { SourceFiles } from '../queue/source-files.js';
import { WatchStore } from '../queue/watch-store.js';
import { WebDashboardSource } from '../queue/web-dashboard-source.js';
import { WebEventLog } from '../queue/web-events.js';
import { WebSessions } from '../queue/web-sessions.js';
import type { CloserStack } from './closer-stack.js';
import type { RuntimeContext } from './runtime.js';

/** The watches (`/ask watch`), closed with the gateway. */
function watchStore(connection: ReturnType<typeof createRedis>, context: RuntimeContext): WatchStore {
  const watches = new WatchStore(connection, context.keys);
  context.closers.push(() => watches.close());
  return watches;
}

/** How long an image uploaded from the web playground stays usable as a source. */
const UPLOAD_TTL_SECONDS = 3600;
/** How often a gateway looks for budget reservations whose job has ended or is gone. */
const SWEEP_EVERY_MS = 60_000;

/** What a running gateway exposes to its process (and to tests). */
export interface Gateway {
  producer: JobProducer;
  /** The HTTP server's address. */
  httpUrl: string;
  /** Where the HTTP server is bound: the configured host and the real port (PORT=0 picks one). */
  listening: { host: string; port: number };
  discord?: DiscordBot;
}

/**
 * Starts the gateway: the job producer, the HTTP server (Slack events, health, metrics, the queue board, the web
 * pages), then Slack and Discord. Everything it opens goes onto the context's closers, in start order.
 */
export async function startGateway(
  context: RuntimeContext,
  hooks: Pick<InboundDeps, 'afterIntake'> = {},
): Promise<Gateway> {
  const { config, keys, logger, closers, metrics } = context;
  const sizeWarning = defaultSizeWarning(config.core.image);
  if (sizeWarning) logger.warn({ key: 'image.defaults' }, sizeWarning);
  const connection = createRedis(context.redisUrl, 'producer', 'gateway');
  closers.push(async () => connection.disconnect());
  // The producer fails fast while Redis is away; start taking commands only once it is there.
  await waitReady(connection);
  const producer = new JobProducer(connection, keys, {
    ...config.queue,
    concurrency: { flux: config.queue.image.concurrency, ask: config.queue.chat.concurrency },
  });
  closers.push(() => producer.close());
  const ledger = new Ledger(connection, keys);
  const admission = new BudgetReservations(connection, keys, {
    budgets: config.budgets,
    perPersonMaxJobs: config.queue.perPersonMaxJobs,
  });
  sweepReservations(context, admission, producer);
  const linkProbe = linkProbeFrom(config.sources.probe);
  if (linkProbe) closers.push(() => linkProbe.close());
  const intake: InboundDeps = {
    settings: context.settings,
    budgets: config.budgets,
    spend: ledger,
    admission,
    now: Date.now,
    telemetry: metrics,
    queue: producer,
    state: new GatewayStore(connection, keys),
    access: config.access,
    confirmAboveMicros: config.confirmAboveMicros,
    contextTokens: config.contextTokens,
    logger,
    watches: watchStore(connection, context),
    models: context.models,
    ...(context.fineTunes ? { fineTunes: context.fineTunes } : {}),
    ...(linkProbe ? { linkProbe } : {}),
    ...hooks,
  };
  metrics.watchQueues(async () => ({
    image: await producer.queues.image.getJobCounts(),
    chat: await producer.queues.chat.getJobCounts(),
  }));
  // Bolt and discord.js load only where they run, so a worker process does not carry them.
  const slack = config.slack ? await slackGateway(context, { connection, ledger, intake }) : undefined;
  const server = await gatewayServer(context, { connection, producer, ledger, intake, slack });
  const address = await server.listen(config.http.port, config.http.host);
  closers.push(() => server.close());
  if (slack) {
    await slack.start();
    closers.push(() => slack.stop());
  }
  const discord = config.discord
    ? await startDiscord(
        { ...config.discord, interactionTokens: producer.interactionTokens },
        intake,
        closers,
      )
    : undefined;
  logger.info(
    {
      url: address.url,
      discord: Boolean(config.discord),
      slack: config.slack ? (config.slack.appToken ? 'socket-mode' : 'http') : 'off',
    },
    'gateway listening',
  );
  return {
    producer,
    httpUrl: address.url,
    listening: { host: config.http.host, port: address.port },
    ...(discord ? { discord } : {}),
  };
}

/** Releases what jobs that ended without lorabot's failure path, or never got queued, still hold. */
function sweepReservations(
  { logger, closers }: RuntimeContext,
  admission: BudgetReservations,
  producer: JobProducer,
): void {
  const stopSweeping = admission.sweepEvery(
    SWEEP_EVERY_MS,
    (jobId, kind) => producer.jobEnded(jobId, kind),
    (error) => logger.warn({ err: errorText(error) }, 'could not sweep budget reservations'),
  );
  closers.push(async () => stopSweeping());
}

/** The Slack app, with 👍/👎 on answers recorded and the Home tab. Bolt loads only where Slack runs. */
async function slackGateway(
  { config, keys, logger, settings }: RuntimeContext,
  parts: { connection: ReturnType<typeof createRedis>; ledger: Ledger; intake: InboundDeps },
): Promise<SlackGateway> {
  const { connection, ledger, intake } = parts;
  const { createSlackGateway } = await import('../adapters/slack/slack-app.js');
  const home = new HomeStore(connection, keys, {
    ledger,
    state: intake.state,
    budgets: config.budgets,
    settings,
  });
  return createSlackGateway(
    { ...config.slack!, logger, feedback: new FeedbackStore(connection, keys), home },
    intake,
  );
}

/** The gateway's HTTP server with every route this config turns on; not yet listening. */
async function gatewayServer(
  { config, keys, logger, metrics }: RuntimeContext,
  parts: {
    connection: ReturnType<typeof createRedis>;
    producer: JobProducer;
    ledger: Ledger;
    intake: InboundDeps;
    slack: SlackGateway | undefined;
  },
): Promise<GatewayServer> {
  const { connection, producer, ledger, intake, slack } = parts;
  const queues = [producer.queues.image, producer.queues.chat];
  // Bull Board loads only when the admin board is configured.
  const adminBoard = config.admin ? (await import('../queue/admin-board.js')).createAdminBoard : undefined;
  const webEvents = new WebEventLog(connection, keys);
  const dashboard = new WebDashboardSource(queues, ledger, webEvents, new FeedbackStore(connection, keys));
  const files = new SourceFiles(connection, keys);
  const web = createWebRoutes({
    access: webAccess(config.http.host, config.webPassword),
    host: config.http.host,
    sessions: new WebSessions(connection, keys),
    events: webEvents,
    inbound: new InboundService(intake),
    now: Date.now,
    dashboard: async () => buildDashboard({ ...(await dashboard.read(Date.now())), budgets: config.budgets }),
    assetsDir: webAssetsDir(),
    uploads: {
      maxBytes: config.sources.maxBytes,
      put: (bytes) => files.put(bytes, UPLOAD_TTL_SECONDS),
      get: (token) => files.get(token),
    },
    logger,
  });
  return new GatewayServer({
    web,
    logger,
    files: (token) => files.get(token),
    metrics: () => metrics.render(),
    ...(config.metricsToken !== undefined ? { metricsToken: config.metricsToken } : {}),
    ...(config.admin && adminBoard
      ? { admin: { ...config.admin, listener: adminBoard(queues, { writable: config.adminWrite }) } }
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
}

/** Connects the Discord bot (discord.js loads only here) and puts its stop on the closers. */
async function startDiscord(
  settings: NonNullable<Config['discord']> & { interactionTokens: InteractionTokens },
  intake: InboundDeps,
  closers: CloserStack,
): Promise<DiscordBot> {
  const { DiscordBot } = await import('../adapters/discord/discord-bot.js');
  const discord = new DiscordBot({ ...settings, ...intake });
  await discord.start();
  closers.push(() => discord.stop());
  return discord;
}
