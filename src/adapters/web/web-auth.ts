import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { secretsMatch } from '../../app/secret-match.js';

/**
 * Who may use the web playground and dashboard:
 * - `open`: the server listens on a loopback address only and no password is set; each browser session is its
 *   own user, no login.
 * - `password`: `LORABOT_WEB_PASSWORD` is set; a login asks for a name and the password.
 * - `refused`: the server listens on another address and no password is set; the pages answer 403 and say how
 *   to turn them on, so a server on a public address never serves an open generator by accident.
 */
export type WebAccess = { mode: 'open' } | { mode: 'password'; password: string } | { mode: 'refused' };

export function webAccess(host: string, password: string | undefined): WebAccess {
  if (password !== undefined) return { mode: 'password', password };
  return isLoopback(host) ? { mode: 'open' } : { mode: 'refused' };
}

/** Whether a bind address only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return (
    bare === 'localhost' || bare === '::1' || /^127(\.\d{1,3}){3}$/.test(bare) || bare === '::ffff:127.0.0.1'
  );
}

/** Compares a password in constant time (both sides digested first, so their lengths do not leak either). */
export function passwordMatches(given: string, expected: string): boolean {
  return secretsMatch(given, expected);
}

/** Compares two tokens in constant time. */
export function tokensMatch(given: string | undefined, expected: string): boolean {
  return given !== undefined && passwordMatches(given, expected);
}

/** A web user's name, as typed on the login page: it becomes the ledger's user id `web:<name>`. */
export const WEB_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/;
export const WEB_NAME_RULE =
  'A name is 1 to 32 letters, digits, dots, dashes or underscores, starting with a letter or digit.';

/** The identity of a browser session on a loopback server with no login. */
export function anonymousIdentity(): { userId: string; name: string } {
  return { userId: `web-${randomBytes(6).toString('hex')}`, name: 'you (this browser)' };
}

export const SESSION_COOKIE = 'lorabot_session';

/**
 * The session cookie: unreadable by scripts (`HttpOnly`), never sent with a request from another site
 * (`SameSite=Strict`), and `Secure` when the page was reached over https (directly or through a proxy that says
 * so in `X-Forwarded-Proto`).
 */
export function sessionCookie(req: IncomingMessage, value: string, maxAgeSeconds: number): string {
  const secure = isHttps(req) ? '; Secure' : '';
  return `${SESSION_COOKIE}=${value}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAgeSeconds}${secure}`;
}

export function cookieValue(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return undefined;
}

/**
 * A state-changing request must come from the page itself: its `Origin` must be this server's. Browsers always
 * send `Origin` on a cross-site POST, and on a same-origin `fetch` POST, so a missing one is refused too.
 */
export function isSameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  const host = req.headers.host;
  if (!origin || !host) return false;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

function isHttps(req: IncomingMessage): boolean {
  const forwarded = req.headers['x-forwarded-proto'];
  const proto = Array.isArray(forwarded) ? forwarded[0] : forwarded;
  return (
    proto?.split(',')[0]?.trim() === 'https' || ('encrypted' in req.socket && Boolean(req.socket.encrypted))
  );
}
