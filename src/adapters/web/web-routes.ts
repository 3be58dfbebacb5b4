import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { ChatPlatform, InboundEvent } from '../../app/chat-platform.js';
import type { Logger } from '../../core/ports.js';
import {
  anonymousIdentity,
  cookieValue,
  isSameOrigin,
  passwordMatches,
  SESSION_COOKIE,
  sessionCookie,
  tokensMatch,
  WEB_NAME,
  WEB_NAME_RULE,
  type WebAccess,
} from './web-auth.js';
import type { WebEventSink } from './web-deliverer.js';
import {
  html,
  json,
  parseJson,
  readBody,
  redirect,
  SECURITY_HEADERS,
  serveAsset,
  servePage,
} from './web-http.js';
import { loginPage, REFUSED_MESSAGE, refusedPage } from './web-pages.js';
import { WebPlatform, type WebRequest, webInboundEvent } from './web-platform.js';
import type { DashboardData, WebSessionInfo } from './web-protocol.js';
import { receiveUpload, UPLOAD_GONE, uploadedImages, type WebUploads } from './web-uploads.js';

/** A browser session as the routes need it (kept in Redis by src/queue/web-sessions.ts). */
export interface WebSessionData {
  userId: string;
  name: string;
  csrfToken: string;
  streamId: string;
}

export interface WebSessionStore {
  create(identity: { userId: string; name: string }): Promise<{ cookie: string; session: WebSessionData }>;
  find(cookie: string): Promise<WebSessionData | undefined>;
  end(cookie: string): Promise<void>;
}

/** The session streams and images (src/queue/web-events.ts). */
export interface WebEventStore extends WebEventSink {
  follow(
    streamId: string,
    afterId: string,
    handlers: {
      deliver(events: Array<{ id: string; json: string }>): void;
      idle(): void;
      signal: AbortSignal;
    },
  ): Promise<void>;
  image(messageId: string, index: number): Promise<{ bytes: Buffer; mimeType: string } | undefined>;
}

export interface WebRoutesOptions {
  access: WebAccess;
  /** The bound address, for the refusal page. */
  host: string;
  sessions: WebSessionStore;
  events: WebEventStore;
  dashboard(): Promise<DashboardData>;
  /** The one inbound service (`InboundService`): typed commands and button presses go through it. */
  inbound: { handle(event: InboundEvent, platform: ChatPlatform): Promise<void> };
  /** The clock an event's arrival is read from. */
  now: () => number;
  /**
   * Images uploaded from the page (`POST /api/uploads`), kept for a while under a token a command's `images`
   * names; absent: uploads are off.
   */
  uploads?: WebUploads;
  /** The built front-end (dist/web). */
  assetsDir: string;
  logger: Logger;
}

/** The built front-end: `dist/web` of the package (this file is three folders below its root, in src or dist). */
export function webAssetsDir(): string {
  return fileURLToPath(new URL('../../../dist/web', import.meta.url));
}

const SESSION_MAX_AGE = 7 * 86_400;
const ID = z.string().regex(/^[A-Za-z0-9_:.-]{1,128}$/, 'expected an id of letters, digits, _ : . or -');
/** An upload's token (`SourceFiles`): 32 random bytes, base64url. */
const UPLOAD_TOKEN = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'expected the token of an upload');
/** At most 10 uploads a line: the inbound service checks the real limits (the edit model's, `chat.max_images`). */
const COMMAND_BODY = z.strictObject({
  text: z.string().trim().min(1).max(4000),
  requestId: ID,
  images: z.array(UPLOAD_TOKEN).min(1).max(10).optional(),
});
const ACTION_BODY = z.strictObject({
  action: z.enum(['cancel', 'regenerate', 'vary', 'edit', 'details', 'run', 'dismiss']),
  id: ID,
  requestId: ID,
});
const EDIT_BODY = z.strictObject({ draftId: ID, text: z.string().trim().min(1).max(4000), requestId: ID });

/**
 * The web playground and dashboard on the gateway's port: pages, assets, the session's event stream (SSE),
 * commands and button presses, the dashboard's data, and the login. Returns false for paths it does not own.
 */
export function createWebRoutes(options: WebRoutesOptions) {
  const { access } = options;
  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (path.startsWith('/assets/') && method === 'GET') {
      await serveAsset(options.assetsDir, path.slice('/assets/'.length), res);
      return true;
    }
    const isPage = path === '/' || path === '/dashboard' || path === '/login' || path === '/logout';
    if (!isPage && !path.startsWith('/api/')) return false;
    if (access.mode === 'refused') {
      if (path.startsWith('/api/')) json(res, 403, { error: REFUSED_MESSAGE });
      else html(res, 403, refusedPage(options.host));
      return true;
    }
    if (path === '/login') {
      await login(options, { req, res, url });
      return true;
    }
    const cookie = cookieValue(req, SESSION_COOKIE);
    const session = await sessionFor(options, { req, res, path, method, cookie });
    if (session === 'answered') return true;
    if (!session) {
      json(res, 401, { error: 'Not logged in: open the page again to log in.' });
      return true;
    }
    if (method === 'POST' && !csrfOk(req, session)) {
      json(res, 403, { error: 'Refused: this request did not come from the lorabot page (CSRF check).' });
      return true;
    }
    await sessionRoute(options, { req, res, path, method, session, cookie });
    return true;
  };
}

/** A request on its way through the routes. */
interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
}

/**
 * The request's session: the cookie's, or for a page opened without one, a new anonymous session (no password)
 * or a redirect to the login (`answered`).
 */
async function sessionFor(
  options: WebRoutesOptions,
  r: Exchange & { path: string; method: string; cookie: string | undefined },
): Promise<WebSessionData | 'answered' | undefined> {
  const { req, res, path } = r;
  const session = r.cookie ? await options.sessions.find(r.cookie) : undefined;
  if (session || r.method !== 'GET' || (path !== '/' && path !== '/dashboard')) return session;
  if (options.access.mode === 'password') {
    redirect(res, `/login?next=${encodeURIComponent(path)}`);
    return 'answered';
  }
  const created = await options.sessions.create(anonymousIdentity());
  res.setHeader('set-cookie', sessionCookie(req, created.cookie, SESSION_MAX_AGE));
  return created.session;
}

/** The routes a session may use: pages, the session's data and stream, images, commands, presses, logout. */
async function sessionRoute(
  options: WebRoutesOptions,
  r: Exchange & { path: string; method: string; session: WebSessionData; cookie: string | undefined },
): Promise<void> {
  const { req, res, path, method, session } = r;
  const route = `${method} ${path}`;
  if (route === 'GET /') return servePage(options.assetsDir, 'index.html', res);
  if (route === 'GET /dashboard') return servePage(options.assetsDir, 'dashboard.html', res);
  if (route === 'GET /api/session') {
    const info: WebSessionInfo = {
      name: session.name,
      csrfToken: session.csrfToken,
      ...(options.uploads ? { uploadMaxBytes: options.uploads.maxBytes } : {}),
    };
    return json(res, 200, {
      ...info,
      login: options.access.mode === 'password',
    });
  }
  if (route === 'GET /api/events') return relay(options, { req, res }, session);
  if (route === 'GET /api/dashboard') return json(res, 200, await options.dashboard());
  if (method === 'GET' && path.startsWith('/api/images/')) return serveImage(options, path, res);
  if (route === 'POST /api/commands') return inbound(options, { req, res, session, schema: COMMAND_BODY });
  if (route === 'POST /api/actions') return inbound(options, { req, res, session, schema: ACTION_BODY });
  if (route === 'POST /api/uploads' && options.uploads) return receiveUpload(options.uploads, { req, res });
  if (route === 'POST /api/edits') return inbound(options, { req, res, session, schema: EDIT_BODY });
  if (route === 'POST /logout') {
    if (r.cookie) await options.sessions.end(r.cookie);
    res.setHeader('set-cookie', sessionCookie(req, '', 0));
    res.writeHead(204).end();
    return;
  }
  json(res, 404, { error: 'not found' });
}

/** `GET /login` shows the form; `POST /login` checks the name and password and starts a session. */
async function login(options: WebRoutesOptions, r: Exchange & { url: URL }): Promise<void> {
  const { req, res, url } = r;
  const { access } = options;
  if (access.mode !== 'password') return redirect(res, '/');
  if (req.method === 'GET')
    return html(res, 200, loginPage({ next: safeNext(url.searchParams.get('next')) }));
  if (req.method !== 'POST') return json(res, 405, { error: 'method not allowed' });
  // A login posted from another site would log the browser in as someone else (login CSRF).
  if (!isSameOrigin(req)) return html(res, 403, loginPage({ error: 'Refused: log in from this page.' }));
  const form = new URLSearchParams(await readBody(req));
  const name = (form.get('name') ?? '').trim();
  const next = safeNext(form.get('next'));
  if (!WEB_NAME.test(name)) return html(res, 400, loginPage({ error: WEB_NAME_RULE, name, next }));
  if (!passwordMatches(form.get('password') ?? '', access.password)) {
    options.logger.warn({ name }, 'web login refused: wrong password');
    return html(res, 401, loginPage({ error: 'Wrong password.', name, next }));
  }
  const created = await options.sessions.create({ userId: `web:${name}`, name });
  res.setHeader('set-cookie', sessionCookie(req, created.cookie, SESSION_MAX_AGE));
  redirect(res, next);
}

/** Relays the session's stream as Server-Sent Events, from just after `Last-Event-ID` on a reconnect. */
async function relay(
  options: WebRoutesOptions,
  { req, res }: Exchange,
  session: WebSessionData,
): Promise<void> {
  const lastId = req.headers['last-event-id'];
  const after = typeof lastId === 'string' && /^\d+-\d+$/.test(lastId) ? lastId : '0';
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
  });
  res.write('retry: 2000\n\n');
  const stop = new AbortController();
  req.on('close', () => stop.abort());
  await options.events
    .follow(session.streamId, after, {
      signal: stop.signal,
      deliver: (events) => {
        for (const event of events) res.write(`id: ${event.id}\ndata: ${event.json}\n\n`);
      },
      idle: () => res.write(': keep-alive\n\n'),
    })
    .catch((error: unknown) => options.logger.warn({ err: String(error) }, 'web event relay stopped'));
  res.end();
}

/** An image of a message, while the web keeps it. */
async function serveImage(options: WebRoutesOptions, path: string, res: ServerResponse): Promise<void> {
  const match = /^\/api\/images\/([^/]+)\/(\d{1,2})$/.exec(path);
  const image = match
    ? await options.events.image(decodeURIComponent(match[1]!), Number(match[2]))
    : undefined;
  if (!image) return json(res, 404, { error: 'This image is no longer kept (images are kept for a day).' });
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'content-type': image.mimeType,
    'cache-control': 'private, max-age=86400, immutable',
  });
  res.end(image.bytes);
}

/** A typed command or a pressed button: checked, translated, and handed to the inbound service. */
async function inbound(
  options: WebRoutesOptions,
  r: Exchange & {
    session: WebSessionData;
    schema: typeof COMMAND_BODY | typeof ACTION_BODY | typeof EDIT_BODY;
  },
): Promise<void> {
  const { req, res, session } = r;
  const parsed = r.schema.safeParse(parseJson(await readBody(req)));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return json(res, 400, { error: `Bad request: ${issue?.path.join('.') || 'body'}: ${issue?.message}` });
  }
  const { request, refusal } = await withUploads(options, parsed.data);
  if (refusal === 'uploads_off')
    return json(res, 400, { error: 'Bad request: images: uploads are off here.' });
  const platform = new WebPlatform(options.events, session, request);
  // An upload no longer kept is told like any other refusal: privately, nothing queued.
  if (refusal === 'gone') await platform.tell(UPLOAD_GONE);
  else await options.inbound.handle(webInboundEvent(request, session, options.now()), platform);
  // What happened is on the session's stream; the answer only says the request was taken.
  json(res, 202, { ok: true });
}

/** A request with its upload tokens read as the images they name (from the kept bytes, never the page's word). */
async function withUploads(
  options: WebRoutesOptions,
  body: z.infer<typeof COMMAND_BODY | typeof ACTION_BODY | typeof EDIT_BODY>,
): Promise<{ request: WebRequest; refusal?: 'gone' | 'uploads_off' }> {
  if (!('images' in body) || !body.images) return { request: body as WebRequest };
  const { images: tokens, ...line } = body;
  if (!options.uploads) return { request: line, refusal: 'uploads_off' };
  const images = await uploadedImages(options.uploads, tokens);
  return images === 'gone' ? { request: line, refusal: images } : { request: { ...line, images } };
}

function csrfOk(req: IncomingMessage, session: WebSessionData): boolean {
  const header = req.headers['x-csrf-token'];
  return isSameOrigin(req) && tokensMatch(typeof header === 'string' ? header : undefined, session.csrfToken);
}

/** Only a path on this server: never `//elsewhere` or a full URL. */
function safeNext(next: string | null): string {
  return next && /^\/(?!\/)[A-Za-z0-9/_-]*$/.test(next) ? next : '/';
}
