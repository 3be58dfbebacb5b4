import { Writable } from 'node:stream';
import { pino } from 'pino';
import { prettyFactory } from 'pino-pretty';
import type { Logger } from '../../core/ports.js';

/** Paths pino blanks out wherever they appear in a log object: secrets never reach a log line. */
const REDACT = [
  'token',
  'apiKey',
  'authorization',
  'signingSecret',
  'appToken',
  'botToken',
  '*.token',
  '*.apiKey',
  '*.authorization',
  '*.signingSecret',
  '*.appToken',
  '*.botToken',
  'headers.authorization',
  'password',
  '*.password',
  '*.headers.authorization',
];

/** `pretty`: one human-readable line per entry; `json`: pino's JSON lines, for log collectors. */
export type LogFormat = 'pretty' | 'json';

export interface LogOutput {
  /** Default `json`. */
  format?: LogFormat;
  /** Pretty output only: colour the level and message (for a terminal). Default false. */
  colors?: boolean;
}

/** LOG_FORMAT when set; otherwise pretty on a terminal and JSON lines everywhere else (files, pipes, collectors). */
export function resolveLogFormat(configured: LogFormat | undefined, isTerminal: boolean): LogFormat {
  return configured ?? (isTerminal ? 'pretty' : 'json');
}

/**
 * A pino logger with secrets redacted. Pretty output is rendered in-process from the already redacted JSON line,
 * so both formats hide the same fields, and lines come out in order with the rest of the process's output (no
 * worker-thread transport to flush on exit).
 */
export function createLogger(
  level: string,
  destination?: NodeJS.WritableStream,
  output: LogOutput = {},
): Logger & { level: string } {
  const options = { level, redact: { paths: REDACT, censor: '[redacted]' }, base: { app: 'lorabot' } };
  if (output.format === 'pretty') {
    return pino(options, prettyStream(destination ?? process.stdout, output.colors ?? false));
  }
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
}

function prettyStream(destination: NodeJS.WritableStream, colors: boolean): Writable {
  const render = prettyFactory({
    colorize: colors,
    translateTime: 'SYS:HH:MM:ss.l',
    // The app name is on every line and says nothing on a terminal.
    ignore: 'pid,hostname,app',
    singleLine: true,
  });
  return new Writable({
    write(chunk, _encoding, done) {
      // pino writes one whole JSON line per call.
      destination.write(render(String(chunk)));
      done();
    },
  });
}
