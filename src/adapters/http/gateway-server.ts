import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { secretsMatch } from '../../app/secret-match.js';
import type { Logger } from '../../core/ports.js';
import type { SourceBytes } from '../../core/source-images.js';
import { LoginGate } from './login-gate.js';

export interface GatewayRoutes {
  /** Bolt's listener for `POST /slack/events`, when Slack runs in HTTP mode. */
  slack?: RequestListener;
  health(): Promise<{ ok: boolean; body: Record<string, unknown> }>;
  metrics?(): Promise<{ contentType: string; body: string }>;
  /** When set, `/metrics` needs `Authorization: Bearer <token>`. */
  metricsToken?: string;
  /** Bull Board under `/admin/queues`, behind HTTP basic auth; absent when no credentials are configured. */
  admin?: { listener: RequestListener; user: string; password: string };
  /** Where failed logins to the board and `/metrics` are reported. */
  logger: Logger;
  /**
   * `GET /files/<token>`: an image lorabot hands Together as a link, while its token lives; the token is the only
   * credential. Absent: the route is off.
   */
  files?(token: string): Promise<SourceBytes | undefined>;
  /** The web playground and dashboard (`/`, `/dashboard`, `/login`, `/assets/*`, `/api/*`); false: not its path. */
  web?(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
}

/**
 * The gateway's one HTTP server: Slack events, `/healthz`, `/metrics`, the queue board, `/files/<token>` and the
 * web pages.
 */
export class GatewayServer {
  private readonly server: Server;
  private readonly adminGate: LoginGate | undefined;
  private readonly metricsGate: LoginGate | undefined;
  private closed = false;

  constructor(private readonly routes: GatewayRoutes) {
    const { admin, metricsToken, logger } = routes;
    this.adminGate = admin
      ? new LoginGate({
          realm: 'admin',
          challenge: 'Basic realm="lorabot admin", charset="UTF-8"',
          accepts: (header) => basicMatches(header, admin),
          logger,
        })
      : undefined;
    this.metricsGate =
      metricsToken !== undefined
        ? new LoginGate({
            realm: 'metrics',
            challenge: 'Bearer realm="lorabot metrics"',
            accepts: (header) => secretsMatch(bearerToken(header), metricsToken),
            logger,
          })
        : undefined;
    this.server = createServer((req, res) => {
      this.route(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: 'error' }));
      });
    });
  }

  async listen(port: number, host: string): Promise<{ port: number; url: string }> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    const address = this.server.address() as AddressInfo;
    const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
    return { port: address.port, url: `http://${shownHost}:${address.port}` };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
    });
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/slack/events' && this.routes.slack) {
      this.routes.slack(req, res);
      return;
    }
    if (this.routes.admin && (path === '/admin/queues' || path?.startsWith('/admin/queues/'))) {
      if (await this.adminGate!.admit(req, res)) this.routes.admin.listener(req, res);
      return;
    }
    if (req.method === 'GET' && path === '/healthz') {
      const health = await this.routes.health();
      res.writeHead(health.ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: health.ok ? 'ok' : 'unavailable', ...health.body }));
      return;
    }
    if (req.method === 'GET' && path === '/metrics' && this.routes.metrics) {
      if (this.metricsGate && !(await this.metricsGate.admit(req, res))) return;
      const metrics = await this.routes.metrics();
      res.writeHead(200, { 'content-type': metrics.contentType });
      res.end(metrics.body);
      return;
    }
    if (req.method === 'GET' && path?.startsWith('/files/') && this.routes.files) {
      const image = await this.routes.files(path.slice('/files/'.length));
      if (image) {
        res.writeHead(200, {
          'content-type': image.mimeType,
          'content-length': String(image.bytes.length),
          'cache-control': 'private, no-store',
          'x-content-type-options': 'nosniff',
          'referrer-policy': 'no-referrer',
        });
        res.end(image.bytes);
        return;
      }
      // Unknown, malformed or expired: the same answer, so a token cannot be told from a guess.
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'not found' }));
      return;
    }
    if (this.routes.web && (await this.routes.web(req, res))) return;
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'not found' }));
  }
}

/** Checks HTTP basic credentials in constant time, without telling their length. */
function basicMatches(header: string, expected: { user: string; password: string }): boolean {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header);
  const given = match ? Buffer.from(match[1]!, 'base64').toString('utf8') : '';
  return secretsMatch(given, `${expected.user}:${expected.password}`);
}

/** The token of an `Authorization: Bearer <token>` header (the scheme in any case); empty for anything else. */
function bearerToken(header: string): string {
  return /^Bearer +(\S+)$/i.exec(header)?.[1] ?? '';
}
