import { parseArgs } from 'node:util';
import { settlesWithin } from '../queue/job-worker.js';
import { Ledger, ledgerCsv } from '../queue/ledger.js';
import { createRedis } from '../queue/redis-connection.js';
import { RedisKeys } from '../queue/redis-keys.js';
import { runDoctor } from './doctor.js';
import { configOrExit, type Io, loggerFor, resolveOrSay, USAGE } from './io.js';
import { modelsCommand } from './models-command.js';
import { guardProcess } from './process-guard.js';
import { runCommand } from './run-command.js';
import { type Running, startLorabot } from './runtime.js';
import { type ServeRole, startupSummary } from './startup-summary.js';

/** The process around the CLI: output streams, env, working directory, the stop signal. */
export type { Io } from './io.js';

/** Past the grace period, how long closing connections may take before the process exits anyway. */
const CLOSE_MARGIN_MS = 1500;

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
    case 'models':
      return modelsCommand(rest, io);
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
    const { registerCommands } = await import('../adapters/discord/discord-bot.js');
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
  const guard = io.process ? guardProcess(io.process, logger) : undefined;
  let running: Running;
  try {
    running = await startLorabot(config, {
      gateway: role !== 'worker',
      worker: role !== 'gateway',
      logger,
      cwd: io.cwd,
    });
  } catch (error) {
    guard?.dispose();
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
  const never = new Promise<never>(() => {});
  const failed = await Promise.race([
    (io.stopSignal ?? never).then(() => false),
    (guard?.fatal ?? never).then(() => true),
  ]);
  const graceMs = config.queue.shutdownGraceMs;
  logger.info({ graceMs }, 'stopping: finishing or handing back work in flight');
  // Jobs are handed back when the grace period ends; a connection that will not close must not hold the exit.
  if (!(await settlesWithin(running.close(), graceMs + CLOSE_MARGIN_MS))) {
    logger.warn({ graceMs }, 'still closing after the grace period: exiting');
  }
  logger.info({}, 'stopped');
  guard?.dispose();
  return failed ? 1 : 0;
}
