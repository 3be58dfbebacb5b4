import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { createLogger, resolveLogFormat } from './adapters/logging/logger.js';
import type { TogetherErrorCode } from './adapters/together/together-error.js';
import { jobData, planCommand } from './app/command-plan.js';
import { type Config, loadConfig } from './config/index.js';
import { modelsText } from './core/budget.js';
import { parseCommandLine } from './core/command-parser.js';
import { ASK_HELP, FLUX_HELP } from './core/help-text.js';
import type { JobStatus } from './core/jobs.js';
import { presetsText } from './core/presets.js';
import { runDoctor } from './doctor.js';
import { dryRun } from './dry-run.js';
import { JobProducer } from './queue/job-producer.js';
import { enqueueAndWait } from './queue/job-waiter.js';
import { Ledger, ledgerCsv } from './queue/ledger.js';
import { createRedis } from './queue/redis-connection.js';
import { RedisKeys } from './queue/redis-keys.js';
import { type ResolvedRedis, resolveRedisUrl } from './queue/redis-url.js';
import { type Running, startLorabot } from './runtime.js';
import { type ServeRole, startupSummary } from './startup-summary.js';

const USAGE = `Usage:
  lorabot start                      gateway and worker in one process
  lorabot gateway                    platform adapters and the HTTP server only
  lorabot worker                     the queue worker only
  lorabot run "<command>" [--out DIR] run a command through the queue and wait for the result
  lorabot run --dry-run --json "<command>"
                                     parse, validate and price a command; print the Together request body
  lorabot doctor                     check config, Redis, Together, Slack and Discord
  lorabot register-commands [--guild ID]
                                     register the Discord application commands
  lorabot usage --csv --month YYYY-MM
                                     export the ledger for a month as CSV`;

const NO_KEY =
  'TOGETHER_API_KEY is not set, and no lorabot worker is running to take this command, so nothing was queued. ' +
  'Set TOGETHER_API_KEY to a key from https://api.together.ai and run it again.';

/** Together error codes that mean the API key is missing or refused: bad configuration, exit 78. */
const KEY_FAILURES: ReadonlySet<string> = new Set<TogetherErrorCode>(['not_configured', 'unauthorized']);

export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** Resolves when the process is asked to stop (SIGTERM/SIGINT); long-running commands wait on it. */
  stopSignal?: Promise<void>;
  /** Which outputs are a terminal: logs there are pretty unless LOG_FORMAT says otherwise. Absent: neither. */
  terminal?: { stdout: boolean; stderr: boolean };
}

/**
 * Exit codes: 0 ok, 1 failure, 2 a user error (bad command or arguments), 78 bad configuration (including a
 * missing or rejected TOGETHER_API_KEY in `lorabot run`).
 */
export async function main(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run':
      return runCommand(rest, io);
    case 'start':
    case 'gateway':
    case 'worker':
      return serve(command, io);
    case 'doctor':
      return runDoctor(io);
    case 'usage':
      return exportUsage(rest, io);
    case 'register-commands':
      return registerDiscordCommands(rest, io);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.stdout(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    default:
      io.stderr(`Unknown command "${command}".\n${USAGE}\n`);
      return 2;
  }
}

/** The Redis to use (see `resolveRedisUrl`), or undefined after telling the user what to do. */
async function resolveOrSay(config: Config, io: Io): Promise<ResolvedRedis | undefined> {
  try {
    return await resolveRedisUrl(config.redisUrl, io.cwd);
  } catch (error) {
    io.stderr(`${error instanceof Error ? error.message : String(error)}\n`);
    return undefined;
  }
}

function configOrExit(io: Io): Config | number {
  const config = loadConfig({ env: io.env, cwd: io.cwd });
  if (!config.success) {
    io.stderr(`${config.error.message}\n`);
    return 78;
  }
  return config.data;
}

async function exportUsage(args: string[], io: Io): Promise<number> {
  let month: string | undefined;
  try {
    const { values } = parseArgs({
      args,
      options: { csv: { type: 'boolean', default: false }, month: { type: 'string' } },
    });
    if (!values.csv) throw new Error('lorabot usage prints CSV: add --csv.');
    month = values.month ?? new Date().toISOString().slice(0, 7);
  } catch (error) {
    io.stderr(
      `${error instanceof Error ? error.message : String(error)}\nUsage: lorabot usage --csv --month YYYY-MM\n`,
    );
    return 2;
  }
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(month)) {
    io.stderr(`--month takes a month as YYYY-MM, not "${month}".\n`);
    return 2;
  }
  const config = configOrExit(io);
  if (typeof config === 'number') return config;
  const redis = await resolveOrSay(config, io);
  if (!redis) return 1;
  const connection = createRedis(redis.url, 'worker', 'usage');
  try {
    const entries = await new Ledger(connection, new RedisKeys(config.queue.prefix)).entries(month);
    io.stdout(`${ledgerCsv(entries)}`);
    return 0;
  } finally {
    connection.disconnect();
    await redis.stop?.();
  }
}

async function registerDiscordCommands(args: string[], io: Io): Promise<number> {
  let guild: string | undefined;
  try {
    const { values } = parseArgs({ args, options: { guild: { type: 'string' } } });
    guild = values.guild;
  } catch (error) {
    io.stderr(
      `${error instanceof Error ? error.message : String(error)}\nUsage: lorabot register-commands [--guild ID]\n`,
    );
    return 2;
  }
  if (guild !== undefined && !/^\d{1,25}$/.test(guild)) {
    io.stderr(`--guild takes a numeric guild id, not "${guild}".\n`);
    return 2;
  }
  const config = configOrExit(io);
  if (typeof config === 'number') return config;
  if (!config.discord) {
    io.stderr('Set DISCORD_TOKEN and DISCORD_APPLICATION_ID to register the Discord commands.\n');
    return 78;
  }
  try {
    const { registerCommands } = await import('./adapters/discord/discord-bot.js');
    const count = await registerCommands({
      ...config.discord,
      settings: config.core,
      ...(guild ? { guildId: guild } : {}),
    });
    io.stdout(
      `Registered ${count} commands ${guild ? `in guild ${guild} (available now)` : 'globally (may take up to an hour to appear)'}.\n`,
    );
    return 0;
  } catch (error) {
    io.stderr(`Discord refused the commands: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

async function serve(role: ServeRole, io: Io): Promise<number> {
  const config = configOrExit(io);
  if (typeof config === 'number') return config;
  const logger = loggerFor(config, config.logLevel, { io, stream: 'stdout' });
  let running: Running;
  try {
    running = await startLorabot(config, {
      gateway: role !== 'worker',
      worker: role !== 'gateway',
      logger,
      cwd: io.cwd,
    });
  } catch (error) {
    io.stderr(`lorabot ${role}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  io.stdout(
    startupSummary({
      role,
      config,
      listen: running.listening,
      redis: running.redis,
      playground: role !== 'worker',
    }),
  );
  await (io.stopSignal ?? new Promise<void>(() => {}));
  logger.info({}, 'stopping: finishing or handing back work in flight');
  await running.close();
  return 0;
}

async function runCommand(args: string[], io: Io): Promise<number> {
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

async function runThroughQueue(line: string, outDir: string, config: Config, io: Io): Promise<number> {
  const parsed = parseCommandLine(line, config.core);
  if (!parsed.success) {
    io.stderr(`${parsed.error.message}\n`);
    return 2;
  }
  if (parsed.data.kind === 'help') {
    io.stdout(`${parsed.data.topic === 'flux' ? FLUX_HELP : ASK_HELP}\n`);
    return 0;
  }
  if (parsed.data.kind === 'notify' || (parsed.data.kind === 'info' && parsed.data.topic === 'jobs')) {
    io.stderr(
      '`/flux notify` and `/flux jobs` are for Slack and Discord; `lorabot run` waits for its job.\n',
    );
    return 2;
  }
  if (parsed.data.kind === 'info') {
    if (parsed.data.topic === 'usage') {
      io.stderr('Use `lorabot usage --csv --month YYYY-MM` for spend from the command line.\n');
      return 2;
    }
    io.stdout(`${parsed.data.topic === 'presets' ? presetsText(config.core) : modelsText(config.core)}\n`);
    return 0;
  }
  for (const notice of parsed.data.notices) io.stderr(`note: ${notice}\n`);
  const plan = planCommand(parsed.data, config.core);
  const logger = loggerFor(config, io.env.LOG_LEVEL ?? 'warn', { io, stream: 'stderr' });
  const redis = await resolveOrSay(config, io);
  if (!redis) return 1;
  const connection = createRedis(redis.url, 'worker', 'run');
  const producer = new JobProducer(connection, new RedisKeys(config.queue.prefix), config.queue);
  let worker: Running | undefined;
  try {
    // A client of the same queue: if no worker is running anywhere, run one here for this command.
    if ((await producer.queueFor(plan.kind).getWorkersCount()) === 0) {
      // A worker without a key fails every job: say so now instead of queueing a job that cannot succeed.
      if (!config.together.apiKey) {
        io.stderr(`${NO_KEY}\n`);
        return 78;
      }
      io.stderr('No lorabot worker is running; running one in this process for this command.\n');
      worker = await startLorabot(config, {
        gateway: false,
        worker: true,
        logger,
        cwd: io.cwd,
        redis: { url: redis.url, source: redis.source },
      });
    }
    const jobId = `cli-${randomUUID()}`;
    const data = jobData(parsed.data, plan, { platform: 'cli', userId: safeUserName() }, Date.now());
    const result = await enqueueAndWait({
      producer,
      redisUrl: redis.url,
      prefix: config.queue.prefix,
      jobId,
      data,
      // The failure is printed once, below, from the finished job.
      onStatus: (status) => {
        if (status.state !== 'failed') io.stderr(`${describe(status)}\n`);
      },
      timeoutMs: config.together.timeouts.imageMs * 4,
    });
    if (!result.ok) {
      io.stderr(`Failed: ${result.reason}\n`);
      return result.code && KEY_FAILURES.has(result.code) ? 78 : 1;
    }
    const { outcome } = result;
    if (outcome.images) {
      const dir = resolve(io.cwd, outDir);
      mkdirSync(dir, { recursive: true });
      outcome.images.forEach((image, i) => {
        const path = join(
          dir,
          `lorabot-${jobId.slice(4, 12)}-${i + 1}.${image.mimeType === 'image/png' ? 'png' : image.mimeType === 'image/webp' ? 'webp' : 'jpg'}`,
        );
        writeFileSync(path, Buffer.from(image.base64, 'base64'));
        io.stdout(`${path}\n`);
      });
    }
    if (outcome.text !== undefined) io.stdout(`${outcome.text}\n`);
    io.stdout(`${outcome.costText}\n`);
    return 0;
  } finally {
    await worker?.close();
    await producer.close();
    connection.disconnect();
    await redis.stop?.();
  }
}

/**
 * Log lines go where the command's own output goes (stdout for servers, stderr for `run`), pretty when that is a
 * terminal unless LOG_FORMAT says otherwise.
 */
function loggerFor(config: Config, level: string, to: { io: Io; stream: 'stdout' | 'stderr' }) {
  const write = (text: string) => to.io[to.stream](text);
  const terminal = to.io.terminal?.[to.stream] ?? false;
  const sink = new Writable({
    write(chunk, _encoding, done) {
      write(String(chunk));
      done();
    },
  });
  return createLogger(level, sink, {
    format: resolveLogFormat(config.logFormat, terminal),
    colors: terminal,
  });
}

function describe(status: JobStatus): string {
  switch (status.state) {
    case 'queued':
      return `Queued (position ${status.position})`;
    case 'running':
      return 'Running…';
    case 'done':
      return `Done. ${status.costText}`;
    case 'failed':
      return `Failed: ${status.reason}`;
    case 'cancelled':
      return 'Cancelled.';
  }
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
