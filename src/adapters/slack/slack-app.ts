import { App, HTTPReceiver } from '@slack/bolt';
import type { Logger } from '../../core/ports.js';
import { boltLogger, slackClientOptions } from './slack-client.js';
import { registerSlackCommands, type SlackCommandDeps } from './slack-commands.js';

export interface SlackAppOptions {
  botToken: string;
  signingSecret: string | undefined;
  appToken: string | undefined;
  apiUrl: string;
  logger: Logger;
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
    // Our listeners ack within milliseconds; a payload no listener handles (not /flux or /ask) gets its 404 after
    // a second instead of Bolt's default three.
    unhandledRequestTimeoutMillis: 1000,
    logger,
  });
  const app = new App({ token: options.botToken, receiver, clientOptions, logger });
  registerSlackCommands(app, deps);
  return {
    app,
    httpListener: guardBody(receiver.requestListener),
    start: async () => {},
    stop: async () => {},
  };
}

/** Bolt's own limit on a request body. */
const BODY_LIMIT = 10 * 1024 * 1024;

/**
 * Buffers the body before Bolt sees it (Bolt reads `req.rawBody` when it is there) and refuses with 400 what Bolt
 * 5.1 mishandles: a body whose JSON is not an object (it reads a property of `null` and leaves the request
 * hanging), and a workspace id that is not a Slack id (it looks clients up in a plain object, so `valueOf` or
 * `constructor` makes it throw).
 */
function guardBody(listener: HTTPReceiver['requestListener']): HTTPReceiver['requestListener'] {
  return (req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= BODY_LIMIT) chunks.push(chunk);
    });
    req.on('error', () => res.destroy());
    req.on('end', () => {
      if (size > BODY_LIMIT) {
        res.writeHead(413).end();
        return;
      }
      const raw = Buffer.concat(chunks);
      if (!hasObjectBody(String(req.headers['content-type'] ?? ''), raw.toString('utf8'))) {
        res.writeHead(400).end();
        return;
      }
      Object.assign(req, { rawBody: raw });
      listener(req, res);
    });
  };
}

/** Slack ids (teams, enterprises, apps) are upper-case letters and digits. */
const SLACK_ID = /^[A-Z0-9]*$/;

/**
 * Whether a Slack request body is one Bolt can take: it parses to an object (JSON, or a form whose `payload`
 * field is JSON), and every workspace id in it looks like a Slack id.
 */
export function hasObjectBody(contentType: string, text: string): boolean {
  const idsOk = (value: Record<string, unknown>) => {
    const nested = (key: string) => (value[key] as { id?: unknown } | undefined)?.id;
    const ids = [value.team_id, value.enterprise_id, value.api_app_id, nested('team'), nested('enterprise')];
    return ids.every(
      (id) => id === undefined || id === null || (typeof id === 'string' && SLACK_ID.test(id)),
    );
  };
  const objectOk = (json: string) => {
    try {
      const value: unknown = JSON.parse(json);
      return (
        typeof value === 'object' &&
        value !== null &&
        !Array.isArray(value) &&
        idsOk(value as Record<string, unknown>)
      );
    } catch {
      // Bolt answers unparseable bodies with 400 itself.
      return true;
    }
  };
  if (contentType.includes('application/json')) return objectOk(text);
  const form = new URLSearchParams(text);
  const payload = form.get('payload');
  return idsOk(Object.fromEntries(form)) && (payload === null || objectOk(payload));
}
