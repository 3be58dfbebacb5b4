import type { RequestListener } from 'node:http';
import { App } from '@slack/bolt';
import { InboundService } from '../../app/inbound-service.js';
import type { FeedbackVotes } from '../../core/feedback.js';
import type { HomeSource } from '../../core/home.js';
import { type Logger, NO_TELEMETRY } from '../../core/ports.js';
import { createSlackAssistant } from './slack-assistant.js';
import { boltLogger, slackClientOptions } from './slack-client.js';
import { registerSlackCommands, type SlackCommandDeps } from './slack-commands.js';
import { envelopeKind, logSlackFailure } from './slack-envelope.js';
import { registerSlackFeedback } from './slack-feedback.js';
import { registerSlackHome, SlackHome } from './slack-home.js';
import { SlackHttpReceiver, SlackSocketReceiver } from './slack-receivers.js';

/** Bolt's extended error handler (`extendedErrorHandler: true`), its last `app.error` overload; not exported by name. */
type ExtendedErrorHandler = Parameters<App['error']>[0];

export interface SlackAppOptions {
  botToken: string;
  signingSecret: string | undefined;
  appToken: string | undefined;
  apiUrl: string;
  logger: Logger;
  /** Where 👍/👎 on answers are recorded; absent: the buttons are not handled. */
  feedback?: FeedbackVotes;
  /** The Home tab's figures; absent: no Home tab. */
  home?: HomeSource;
}

export interface SlackGateway {
  app: App;
  /** HTTP mode: the request listener for `POST /slack/events` (verified before it is read). */
  httpListener?: RequestListener;
  /** Socket Mode: connects to Slack. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The Bolt app: HTTP mode on `/slack/events` by default, Socket Mode when an app token is set. The same
 * handlers, the same envelope dispatch (every envelope acked, failures logged with their kind) and the same
 * redacted logging serve both.
 */
export function createSlackGateway(options: SlackAppOptions, deps: SlackCommandDeps): SlackGateway {
  const secrets = [options.botToken, options.appToken ?? '', options.signingSecret ?? ''];
  const logger = boltLogger(options.logger, secrets);
  const clientOptions = slackClientOptions(options.apiUrl, options.logger, secrets);
  const http = options.appToken
    ? undefined
    : new SlackHttpReceiver({
        signingSecret: options.signingSecret ?? '',
        logger: options.logger,
        now: Date.now,
      });
  const receiver =
    http ??
    new SlackSocketReceiver({
      appToken: options.appToken ?? '',
      slackLogger: logger,
      logger: options.logger,
      clientOptions,
    });
  const app = new App({
    token: options.botToken,
    receiver,
    clientOptions,
    logger,
    extendedErrorHandler: true,
  });
  // A listener's throw ends here, logged with what arrived; the dispatch then acks the envelope if it was not.
  const onError: ExtendedErrorHandler = async ({ error, body }) =>
    logSlackFailure(options.logger, envelopeKind((body ?? {}) as Record<string, unknown>), error);
  app.error(onError);
  registerSlackCommands(app, deps);
  // Global middleware: it takes the DM's threaded messages before the thread-reply listener would see them.
  app.assistant(createSlackAssistant(deps));
  if (options.feedback)
    registerSlackFeedback(app, {
      votes: options.feedback,
      logger: options.logger,
      telemetry: deps.telemetry ?? NO_TELEMETRY,
    });
  if (options.home) {
    const home = new SlackHome(app.client, options.home, { logger: options.logger });
    registerSlackHome(app, { home, service: new InboundService(deps), deps });
  }
  return {
    app,
    ...(http ? { httpListener: http.requestListener } : {}),
    start: () => receiver.start(),
    stop: () => receiver.stop(),
  };
}
