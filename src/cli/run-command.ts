import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CliPlatform, describeStatus } from '../adapters/cli/cli-platform.js';
import { linkProbeFrom } from '../adapters/http/link-probe.js';
import type { TogetherErrorCode } from '../adapters/together/together-error.js';
import type { InboundEvent } from '../app/chat-platform.js';
import { commandOfLine } from '../app/command-line.js';
import { InboundService } from '../app/inbound-service.js';
import type { InboundDeps } from '../app/intake.js';
import type { Config } from '../config/index.js';
import type { Place } from '../core/access.js';
import { parseCommand } from '../core/command-parser.js';
import { type JobOutcome, requesterOf } from '../core/jobs.js';
import { type Logger, NO_TELEMETRY } from '../core/ports.js';
import { BudgetReservations } from '../queue/budget-reservations.js';
import { GatewayStore } from '../queue/gateway-store.js';
import { JobProducer } from '../queue/job-producer.js';
import { startAndWait, type WaitResult } from '../queue/job-waiter.js';
import { Ledger } from '../queue/ledger.js';
import { createRedis } from '../queue/redis-connection.js';
import { RedisKeys } from '../queue/redis-keys.js';
import type { ResolvedRedis } from '../queue/redis-url.js';
import { dryRun } from './dry-run.js';
import { configOrExit, type Io, loggerFor, resolveOrSay, USAGE } from './io.js';
import { type Running, startLorabot } from './runtime.js';

const NO_KEY =
  'TOGETHER_API_KEY is not set, and no lorabot worker is running to take this command, so nothing was queued. ' +
  'Set TOGETHER_API_KEY to a key from https://api.together.ai and run it again.';

/** Together error codes that mean the API key is missing or refused: bad configuration, exit 78. */
const KEY_FAILURES: ReadonlySet<string> = new Set<TogetherErrorCode>(['not_configured', 'unauthorized']);

/** What the service's outcomes mean at a terminal: an answer (exit 0), a queued job, or a refusal (exit 2). */
const ANSWERED = new Set(['help', 'answered']);
const USER_ERRORS = new Set(['user_error', 'over_budget', 'over_cap', 'not_allowed', 'expired', 'refused']);

/** The operator's terminal: one place, where every preset may be used. */
const CLI_PLACE: Place = { platform: 'cli', channelId: 'cli' };

/** `lorabot run [--dry-run [--json]] [--out DIR] "<command>"`. */
export async function runCommand(args: string[], io: Io): Promise<number> {
  let parsed: ReturnType<typeof parseRunArgs>;
  try {
    parsed = parseRunArgs(args);
  } catch (error) {
    io.stderr(`${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) {
    io.stderr(`lorabot run takes one command in quotes, e.g. lorabot run "/flux a panda".\n`);
    return 2;
  }
  const config = configOrExit(io);
  if (typeof config === 'number') return config;
  if (values['dry-run']) {
    const { output, notices } = dryRun(positionals[0]!, config.core);
    for (const notice of notices) io.stderr(`note: ${notice}\n`);
    if (values.json) io.stdout(`${JSON.stringify(output)}\n`);
    else if (!output.ok) io.stderr(`${output.error}\n`);
    else if (output.kind === 'help') io.stdout(`${output.text}\n`);
    else io.stdout(`${JSON.stringify(output.request, null, 2)}\n${output.estimate.text}\n`);
    return output.ok ? 0 : 2;
  }
  return runThroughQueue(positionals[0]!, values.out, config, io);
}

/**
 * Runs a command line through the one inbound service, as the operator (entry `cli`): access, parsing, budgets
 * and metrics as everywhere, then waits for the job and prints its result. The operator is not asked to confirm.
 */
async function runThroughQueue(line: string, outDir: string, config: Config, io: Io): Promise<number> {
  const logger = loggerFor(config, io.env.LOG_LEVEL ?? 'warn', { io, stream: 'stderr' });
  const redis = await resolveOrSay(config, io);
  if (!redis) return 1;
  const connection = createRedis(redis.url, 'worker', 'run');
  const producer = new JobProducer(connection, new RedisKeys(config.queue.prefix), config.queue);
  let worker: Running | undefined;
  const linkProbe = linkProbeFrom(config.sources.probe);
  try {
    const kind = jobKind(line, config);
    if (kind) {
      const started = await workerIfNone({ config, io, logger, redis, producer, kind });
      if (typeof started === 'number') return started;
      worker = started;
    }
    const jobId = `cli-${randomUUID()}`;
    const asked = await ask({
      line,
      kind,
      jobId,
      config,
      io,
      logger,
      connection,
      producer,
      redisUrl: redis.url,
      ...(linkProbe ? { linkProbe } : {}),
    });
    if (typeof asked === 'number') return asked;
    return printResult(asked, { jobId, outDir, io });
  } finally {
    await linkProbe?.close();
    await worker?.close();
    await producer.close();
    connection.disconnect();
    await redis.stop?.();
  }
}

/** The kind of job a line asks for, if it does (not help, presets, usage, jobs, models or notify). */
function jobKind(line: string, config: Config): 'flux' | 'ask' | undefined {
  const command = commandOfLine(line);
  const parsed = command && parseCommand(command.kind, command.text, config.core);
  return parsed?.success && (parsed.data.kind === 'flux' || parsed.data.kind === 'ask')
    ? parsed.data.kind
    : undefined;
}

/** A client of the same queue: if no worker is running anywhere, one runs here for this command. */
async function workerIfNone(options: {
  config: Config;
  io: Io;
  logger: Logger;
  redis: ResolvedRedis;
  producer: JobProducer;
  kind: 'flux' | 'ask';
}): Promise<Running | number | undefined> {
  const { config, io } = options;
  if ((await options.producer.queueFor(options.kind).getWorkersCount()) > 0) return undefined;
  // A worker without a key fails every job: say so now instead of queueing a job that cannot succeed.
  if (!config.together.apiKey) {
    io.stderr(`${NO_KEY}\n`);
    return 78;
  }
  io.stderr('No lorabot worker is running; running one in this process for this command.\n');
  return startLorabot(config, {
    gateway: false,
    worker: true,
    logger: options.logger,
    cwd: io.cwd,
    redis: { url: options.redis.url, source: options.redis.source },
  });
}

/** What `ask` needs: the line, the job id it is queued under, and the connections and config to run it with. */
interface AskOptions extends Pick<InboundDeps, 'linkProbe'> {
  line: string;
  kind: 'flux' | 'ask' | undefined;
  jobId: string;
  config: Config;
  io: Io;
  logger: Logger;
  connection: ReturnType<typeof createRedis>;
  producer: JobProducer;
  redisUrl: string;
}

/**
 * Hands the line to the inbound service and waits for the job it queued. An exit code when nothing was queued
 * (an answer printed on stdout, a refusal on stderr).
 */
async function ask(options: AskOptions): Promise<WaitResult | number> {
  const { config, io, connection, producer } = options;
  const keys = new RedisKeys(config.queue.prefix);
  const userId = safeUserName();
  const outcomes: string[] = [];
  const service = new InboundService({
    settings: config.core,
    budgets: config.budgets,
    spend: new Ledger(connection, keys),
    admission: new BudgetReservations(connection, keys, {
      budgets: config.budgets,
      perPersonMaxJobs: config.queue.perPersonMaxJobs,
    }),
    now: Date.now,
    telemetry: {
      ...NO_TELEMETRY,
      command: (labels) => {
        outcomes.push(labels.outcome);
        io.telemetry?.command(labels);
      },
    },
    queue: producer,
    state: new GatewayStore(connection, keys),
    access: config.access,
    // The operator at a terminal ran the command on purpose: no Run / Cancel.
    confirmAboveMicros: null,
    contextTokens: config.contextTokens,
    logger: options.logger,
    ...(options.linkProbe ? { linkProbe: options.linkProbe } : {}),
  });
  const platform = new CliPlatform(userId, (status) => io.stderr(`${status}\n`));
  const event: InboundEvent = {
    // The requester the worker charges a CLI job to, so budgets and `usage` count the same spend.
    requester: requesterOf({ platform: 'cli', userId }),
    place: CLI_PLACE,
    requestId: options.jobId,
    receivedAt: Date.now(),
    entry: 'cli',
    input: { type: 'line', text: options.line },
  };
  const result = await startAndWait({
    producer,
    redisUrl: options.redisUrl,
    prefix: config.queue.prefix,
    // A line that asks for no job is answered at once: which queue is listened to does not matter.
    kind: options.kind ?? 'flux',
    jobId: options.jobId,
    start: async () => {
      await service.handle(event, platform);
      return outcomes.includes('queued');
    },
    // The failure is printed once, from the finished job.
    onStatus: (status) => {
      if (status.state !== 'failed') io.stderr(`${describeStatus(status)}\n`);
    },
    timeoutMs: config.together.timeouts.imageMs * 4,
  });
  if (result) {
    for (const note of platform.told) io.stderr(`note: ${note}\n`);
    return result;
  }
  const outcome = outcomes.at(-1) ?? 'unavailable';
  const text = platform.told.join('\n');
  if (ANSWERED.has(outcome)) {
    io.stdout(`${text}\n`);
    return 0;
  }
  io.stderr(`${text}\n`);
  return USER_ERRORS.has(outcome) ? 2 : 1;
}

/** The job's images saved under `outDir` (their paths on stdout), its answer, and its cost line. */
function printResult(result: WaitResult, options: { jobId: string; outDir: string; io: Io }): number {
  const { io } = options;
  if (!result.ok) {
    io.stderr(`Failed: ${result.reason}\n`);
    return result.code && KEY_FAILURES.has(result.code) ? 78 : 1;
  }
  const { outcome } = result;
  if (outcome.images) saveImages(outcome.images, options);
  if (outcome.text !== undefined) io.stdout(`${outcome.text}\n`);
  io.stdout(`${outcome.costText}\n`);
  return 0;
}

function saveImages(
  images: NonNullable<JobOutcome['images']>,
  options: { jobId: string; outDir: string; io: Io },
) {
  const dir = resolve(options.io.cwd, options.outDir);
  mkdirSync(dir, { recursive: true });
  images.forEach((image, i) => {
    const extension =
      image.mimeType === 'image/png' ? 'png' : image.mimeType === 'image/webp' ? 'webp' : 'jpg';
    const path = join(dir, `lorabot-${options.jobId.slice(4, 12)}-${i + 1}.${extension}`);
    writeFileSync(path, Buffer.from(image.base64, 'base64'));
    options.io.stdout(`${path}\n`);
  });
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'cli';
  }
}

function parseRunArgs(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    options: {
      'dry-run': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      out: { type: 'string', default: './out' },
    },
  });
}
