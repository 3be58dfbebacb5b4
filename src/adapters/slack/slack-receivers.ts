import type { IncomingMessage, ServerResponse } from 'node:http';
import { type App, type Receiver, SocketModeReceiver } from '@slack/bolt';
import type { Logger as SlackLogger, WebClientOptions } from '@slack/web-api';
import type { Logger } from '../../core/ports.js';
import { dispatchEnvelope, logSlackFailure } from './slack-envelope.js';
import { readSignedBody } from './slack-request-guard.js';

export interface HttpReceiverOptions {
  signingSecret: string;
  logger: Logger;
  /** Unix milliseconds. */
  now(): number;
}

/**
 * Bolt's receiver for `POST /slack/events`, through Bolt's public `Receiver` interface: the request is verified
 * before it is read (size, signature headers, timestamp either way) and its HMAC checked on the raw bytes
 * before anything parses it; then the envelope goes to `app.processEvent` and is always answered.
 * @see https://docs.slack.dev/tools/bolt-js/concepts/receiver
 */
export class SlackHttpReceiver implements Receiver {
  private app?: App;

  constructor(private readonly options: HttpReceiverOptions) {}

  init(app: App): void {
    this.app = app;
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {}

  /** The request listener the gateway's HTTP server mounts on `/slack/events`. */
  readonly requestListener = (req: IncomingMessage, res: ServerResponse): void => {
    this.handle(req, res).catch((error: unknown) => {
      logSlackFailure(this.options.logger, 'http request', error);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  };

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST', connection: 'close' }).end();
      return;
    }
    const guarded = await readSignedBody(req, res, this.options);
    if (!guarded) return;
    const body = parseSlackBody(String(req.headers['content-type'] ?? ''), guarded.raw.toString('utf8'));
    if (!body) {
      res.writeHead(400).end();
      return;
    }
    // Slack's SSL check and the Request URL's challenge are answered here; neither is an event.
    if (!guarded.signed || body.ssl_check === '1') {
      res.writeHead(200).end();
      return;
    }
    if (body.type === 'url_verification') {
      writeAnswer(res, { challenge: body.challenge });
      return;
    }
    if (!this.app) throw new Error('the Slack receiver was not given its app');
    await dispatchEnvelope(
      this.app,
      { body, ack: async (response) => writeAnswer(res, response), ...retryOf(req) },
      { logger: this.options.logger },
    );
  }
}

export interface SocketReceiverOptions {
  appToken: string;
  /** The Socket Mode client's own log lines, already redacted. */
  slackLogger: SlackLogger;
  logger: Logger;
  /** For `apps.connections.open`: the configured Slack API URL and retries. */
  clientOptions: WebClientOptions;
}

/**
 * Socket Mode through Bolt's `SocketModeReceiver` and its public `client`: every envelope goes through the
 * same dispatch as HTTP, so it is always acked. The inner receiver is never given the app, so its own handler
 * does nothing and each envelope reaches Bolt once.
 * @see https://docs.slack.dev/apis/events-api/using-socket-mode
 */
export class SlackSocketReceiver implements Receiver {
  private app?: App;
  private readonly inner: SocketModeReceiver;

  constructor(options: SocketReceiverOptions) {
    this.inner = new SocketModeReceiver({
      appToken: options.appToken,
      logger: options.slackLogger,
      installerOptions: { clientOptions: options.clientOptions },
    });
    this.inner.client.on('slack_event', (args: SocketEvent) => {
      if (!this.app) return;
      void dispatchEnvelope(
        this.app,
        {
          body: args.body ?? {},
          ack: async (response) => args.ack(response),
          ...(args.retry_num === undefined ? {} : { retryNum: args.retry_num }),
          ...(args.retry_reason === undefined ? {} : { retryReason: args.retry_reason }),
        },
        { logger: options.logger },
      );
    });
  }

  init(app: App): void {
    this.app = app;
  }

  async start(): Promise<void> {
    await this.inner.start();
  }

  async stop(): Promise<void> {
    await this.inner.stop();
  }
}

/** What `SocketModeClient` emits as `slack_event`. */
interface SocketEvent {
  body?: Record<string, unknown>;
  ack(response?: unknown): Promise<void>;
  retry_num?: number;
  retry_reason?: string;
}

function retryOf(req: IncomingMessage): { retryNum?: number; retryReason?: string } {
  const num = Number.parseInt(String(req.headers['x-slack-retry-num'] ?? ''), 10);
  const reason = req.headers['x-slack-retry-reason'];
  return {
    ...(Number.isNaN(num) ? {} : { retryNum: num }),
    ...(typeof reason === 'string' ? { retryReason: reason } : {}),
  };
}

/** An ack's answer as Slack reads it: empty, text, or JSON (an ephemeral message). */
function writeAnswer(res: ServerResponse, response: unknown): void {
  if (res.headersSent) return;
  if (response === undefined || response === '') res.writeHead(200).end();
  else if (typeof response === 'string') res.writeHead(200, { 'content-type': 'text/plain' }).end(response);
  else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(response));
}

/** Slack ids (teams, enterprises, apps) are upper-case letters and digits. */
const SLACK_ID = /^[A-Z0-9]*$/;

/**
 * A verified Slack body as an object: JSON, or a form whose `payload` field is JSON, or the form's fields.
 * Undefined when it is not an object Bolt can take: not parseable, not an object (Bolt reads a property of
 * `null`), or a workspace id that is not a Slack id (Bolt looks clients up in a plain object, so `valueOf` or
 * `constructor` would make it throw).
 */
export function parseSlackBody(contentType: string, text: string): Record<string, unknown> | undefined {
  const asObject = (json: string): Record<string, unknown> | undefined => {
    try {
      const value: unknown = JSON.parse(json);
      return typeof value === 'object' && value !== null && !Array.isArray(value)
        ? (value as Record<string, unknown>)
        : undefined;
    } catch {
      return undefined;
    }
  };
  let body: Record<string, unknown> | undefined;
  if (contentType.startsWith('application/x-www-form-urlencoded')) {
    const form = new URLSearchParams(text);
    const payload = form.get('payload');
    body = payload === null ? Object.fromEntries(form) : asObject(payload);
  } else {
    body = asObject(text);
  }
  return body && idsOk(body) ? body : undefined;
}

function idsOk(value: Record<string, unknown>): boolean {
  const nested = (key: string) => (value[key] as { id?: unknown } | undefined)?.id;
  const ids = [value.team_id, value.enterprise_id, value.api_app_id, nested('team'), nested('enterprise')];
  return ids.every((id) => id === undefined || id === null || (typeof id === 'string' && SLACK_ID.test(id)));
}
