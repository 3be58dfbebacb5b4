import { App, type Logger as BoltLogger, HTTPReceiver, LogLevel } from '@slack/bolt';
import type { WebClientOptions } from '@slack/web-api';
import type { Logger } from '../../core/ports.js';
import { registerSlackCommands, type SlackCommandDeps } from './slack-commands.js';

export interface SlackAppOptions {
  botToken: string;
  signingSecret: string | undefined;
  appToken: string | undefined;
  apiUrl: string;
  logger: Logger;
}

/** Retries for the Web API: 429s are waited out (`Retry-After`) by the client, other failures retried with backoff. */
export function slackClientOptions(apiUrl: string, logger: Logger): WebClientOptions {
  return {
    slackApiUrl: apiUrl,
    retryConfig: { retries: 5, factor: 2, minTimeout: 500, maxTimeout: 30_000, randomize: true },
    rejectRateLimitedCalls: false,
    timeout: 30_000,
    logger: boltLogger(logger),
  };
}

export interface SlackGateway {
  app: App;
  /** HTTP mode: the request listener for `POST /slack/events` (signature-verified by Bolt). */
  httpListener?: HTTPReceiver['requestListener'];
  /** Socket Mode: connects to Slack. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The Bolt app: HTTP mode on `/slack/events` by default, Socket Mode when an app token is set. The same
 * handlers serve both.
 */
export function createSlackGateway(options: SlackAppOptions, deps: SlackCommandDeps): SlackGateway {
  const logger = boltLogger(options.logger);
  const clientOptions = slackClientOptions(options.apiUrl, options.logger);
  if (options.appToken) {
    const app = new App({
      token: options.botToken,
      appToken: options.appToken,
      socketMode: true,
      clientOptions,
      logger,
    });
    registerSlackCommands(app, deps);
    return {
      app,
      start: async () => {
        await app.start();
      },
      stop: async () => {
        await app.stop();
      },
    };
  }
  const receiver = new HTTPReceiver({
    signingSecret: options.signingSecret ?? '',
    endpoints: '/slack/events',
    processBeforeResponse: false,
    logger,
  });
  const app = new App({ token: options.botToken, receiver, clientOptions, logger });
  registerSlackCommands(app, deps);
  return { app, httpListener: receiver.requestListener, start: async () => {}, stop: async () => {} };
}

/** Bolt's logger interface over ours. */
export function boltLogger(logger: Logger): BoltLogger {
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
