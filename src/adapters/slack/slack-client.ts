import { LogLevel, type Logger as SlackLogger, type WebClientOptions } from '@slack/web-api';
import type { Logger } from '../../core/ports.js';
import { redactText } from '../../core/redact-text.js';
import { slackFetch } from './slack-fetch.js';

/** Retries for the Web API: 429s are waited out (`Retry-After`) by the client, other failures retried with backoff. */
export function slackClientOptions(
  apiUrl: string,
  logger: Logger,
  secrets: readonly string[] = [],
): WebClientOptions {
  return {
    slackApiUrl: apiUrl,
    retryConfig: { retries: 5, factor: 2, minTimeout: 500, maxTimeout: 30_000, randomize: true },
    rejectRateLimitedCalls: false,
    timeout: 30_000,
    logger: boltLogger(logger, secrets),
    fetch: slackFetch(),
  };
}

/**
 * Bolt's logger interface (also the Socket Mode and Web API clients') over ours. They log plain strings, often
 * quoting a payload, a URL or a header, which pino's path redaction never sees: every line goes through
 * `redactText` first, with the given secrets as literals. Errors keep their name and message.
 */
export function boltLogger(logger: Logger, secrets: readonly string[] = []): SlackLogger {
  let level = LogLevel.INFO;
  const write =
    (fn: (obj: Record<string, unknown>, msg?: string) => void) =>
    (...msg: unknown[]) =>
      fn.call(logger, { component: 'slack' }, redactText(msg.map(describe).join(' '), secrets));
  const debug = write(logger.debug);
  return {
    // The Web API client logs several debug lines a call (bodies and results as JSON): not redacted for nothing.
    debug: (...msg: unknown[]) => {
      if (debugEnabled(logger)) debug(...msg);
    },
    info: write(logger.info),
    warn: write(logger.warn),
    error: write(logger.error),
    setLevel: (next: LogLevel) => {
      level = next;
    },
    getLevel: () => level,
    setName: () => {},
  };
}

/** Whether `logger` writes debug lines (pino's `isLevelEnabled`); a logger that cannot tell is taken to. */
function debugEnabled(logger: Logger): boolean {
  const check = (logger as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled;
  return check ? check.call(logger, 'debug') : true;
}

function describe(part: unknown): string {
  if (typeof part === 'string') return part;
  if (part instanceof Error) return `${part.name}: ${part.message}`;
  try {
    return JSON.stringify(part) ?? String(part);
  } catch {
    return String(part);
  }
}
