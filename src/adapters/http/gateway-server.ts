import { timingSafeEqual } from 'node:crypto';
import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GatewayRoutes {
  /** Bolt's listener for `POST /slack/events`, when Slack runs in HTTP mode. */
  slack?: RequestListener;
  health(): Promise<{ ok: boolean; body: Record<string, unknown> }>;
  metrics?(): Promise<{ contentType: string; body: string }>;
  /** Bull Board under `/admin/queues`, behind HTTP basic auth; absent when no credentials are configured. */
  admin?: { listener: RequestListener; user: string; password: string };
  /** The web playground and dashboard (`/`, `/dashboard`, `/login`, `/assets/*`, `/api/*`); false: not its path. */
  web?(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
}

/** The gateway's one HTTP server: Slack events, `/healthz`, `/metrics`, the queue board and the web pages. */
export class GatewayServer {
  private readonly server: Server;
  private closed = false;

  constructor(private readonly routes: GatewayRoutes) {
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
      if (!authorized(req.headers.authorization, this.routes.admin)) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="lorabot admin", charset="UTF-8"' });
        res.end();
        return;
      }
      this.routes.admin.listener(req, res);
      return;
    }
    if (req.method === 'GET' && path === '/healthz') {
      const health = await this.routes.health();
      res.writeHead(health.ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: health.ok ? 'ok' : 'unavailable', ...health.body }));
      return;
    }
    if (req.method === 'GET' && path === '/metrics' && this.routes.metrics) {
      const metrics = await this.routes.metrics();
      res.writeHead(200, { 'content-type': metrics.contentType });
      res.end(metrics.body);
      return;
    }
    if (this.routes.web && (await this.routes.web(req, res))) return;
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'not found' }));
  }
}

/** Checks HTTP basic credentials in constant time. */
function authorized(header: string | undefined, expected: { user: string; password: string }): boolean {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header ?? '');
  if (!match) return false;
  const given = Buffer.from(Buffer.from(match[1]!, 'base64').toString('utf8'));
  const wanted = Buffer.from(`${expected.user}:${expected.password}`);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}
