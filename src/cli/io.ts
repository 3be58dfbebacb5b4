import { Writable } from 'node:stream';
import { createLogger, resolveLogFormat } from '../adapters/logging/logger.js';
import { type Config, loadConfig } from '../config/index.js';
import type { Telemetry } from '../core/ports.js';
import { type ResolvedRedis, resolveRedisUrl } from '../queue/redis-url.js';
import type { ProcessEvents } from './process-guard.js';

/** What every command shares: its usage, how it talks to the terminal, config, Redis and logs. */

/** The commands and their arguments, as printed for `lorabot help` and after a bad argument. */
export const USAGE = `Usage:
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
                                     export the ledger for a month as CSV
  lorabot models list|add|remove     chat models added at run time (Redis), beside the config's`;

/** The process's outside world, given to `main` (real in `main.ts`, recorded in tests). */
export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** Resolves when the process is asked to stop (SIGTERM/SIGINT); long-running commands wait on it. */
  stopSignal?: Promise<void>;
  /**
   * The process, for the last-resort handlers of `start`, `gateway` and `worker` (see `guardProcess`); absent
   * when a command runs inside another program, such as a test.
   */
  process?: ProcessEvents;
  /** Which outputs are a terminal: logs there are pretty unless LOG_FORMAT says otherwise. Absent: neither. */
  terminal?: { stdout: boolean; stderr: boolean };
  /**
   * Where `lorabot run` also counts its command (`lorabot_commands_total`'s labels, entry `cli`), for a process
   * that embeds the CLI and exports metrics. Absent: the count only decides the exit code.
   */
  telemetry?: Pick<Telemetry, 'command'>;
}

/** The Redis to use (see `resolveRedisUrl`), or undefined after telling the user what to do. */
export async function resolveOrSay(config: Config, io: Io): Promise<ResolvedRedis | undefined> {
  try {
    return await resolveRedisUrl(config.redisUrl, io.cwd, config.redisClusterNodes);
  } catch (error) {
    io.stderr(`${error instanceof Error ? error.message : String(error)}\n`);
    return undefined;
  }
}

/** The validated config, or the exit code after printing every problem. */
export function configOrExit(io: Io): Config | number {
  const config = loadConfig({ env: io.env, cwd: io.cwd });
  if (!config.success) {
    io.stderr(`${config.error.message}\n`);
    return 78;
  }
  return config.data;
}

/**
 * Log lines go where the command's own output goes (stdout for servers, stderr for `run`), pretty when that is a
 * terminal unless LOG_FORMAT says otherwise.
 */
export function loggerFor(config: Config, level: string, to: { io: Io; stream: 'stdout' | 'stderr' }) {
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
