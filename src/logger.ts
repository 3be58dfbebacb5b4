import { pino } from 'pino';
import type { Logger } from './core/ports.js';

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

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger & { level: string } {
  const options = { level, redact: { paths: REDACT, censor: '[redacted]' }, base: { app: 'lorabot' } };
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
}
