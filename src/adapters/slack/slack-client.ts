import { LogLevel, type Logger as SlackLogger, type WebClientOptions } from '@slack/web-api';
import type { Logger } from '../../core/ports.js';
import { slackFetch } from './slack-fetch.js';

/** Retries for the Web API: 429s are waited out (`Retry-After`) by the client, other failures retried with backoff. */
export function slackClientOptions(apiUrl: string, logger: Logger): WebClientOptions {
  return {
    slackApiUrl: apiUrl,
    retryConfig: { retries: 5, factor: 2, minTimeout: 500, maxTimeout: 30_000, randomize: true },
    rejectRateLimitedCalls: false,
    timeout: 30_000,
    logger: boltLogger(logger),
    fetch: slackFetch(),
  };
}

/** Bolt's logger interface over ours. */
export function boltLogger(logger: Logger): SlackLogger {
  let level = LogLevel.INFO;
  const write =
    (fn: (obj: Record<string, unknown>, msg?: string) => void) =>
    (...msg: unknown[]) =>
      fn.call(
        logger,
        { component: 'slack' },
        msg.map((m) => (typeof m === 'string' ? m : JSON.stringify(m))).join(' '),
      );
  return {
    debug: write(logger.debug),
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
