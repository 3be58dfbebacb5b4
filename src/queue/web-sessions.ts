import { createHash, randomBytes } from 'node:crypto';
import type { RedisClient } from './redis-connection.js';
import type { RedisKeys } from './redis-keys.js';

/** A browser session lasts a week from its last use. */
const SESSION_TTL_SECONDS = 7 * 86_400;

/** What a web session holds: who it is, and the token its POSTs must carry (CSRF). */
export interface WebSession {
  /** Ledger and budget user id: `web:<name>` after a login, or a random `web-…` id on a loopback server. */
  userId: string;
  /** How the page names the user. */
  name: string;
  csrfToken: string;
  /** The session's own id, used for its event stream (never the cookie value). */
  streamId: string;
}

/**
 * Web login sessions in Redis, expiring a week after their last use. The cookie value is a random 256-bit
 * secret; Redis keeps only its SHA-256, so reading Redis does not let anyone log in.
 */
export class WebSessions {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  /** Starts a session; returns the cookie value and the session. */
  async create(identity: { userId: string; name: string }): Promise<{ cookie: string; session: WebSession }> {
    const cookie = randomBytes(32).toString('base64url');
    const session: WebSession = {
      ...identity,
      csrfToken: randomBytes(24).toString('base64url'),
      streamId: randomBytes(12).toString('base64url'),
    };
    await this.redis.set(this.key(cookie), JSON.stringify(session), 'EX', SESSION_TTL_SECONDS);
    return { cookie, session };
  }

  /** The session of a cookie, its lifetime renewed; undefined when unknown or expired. */
  async find(cookie: string): Promise<WebSession | undefined> {
    const key = this.key(cookie);
    const [[, value]] = (await this.redis.multi().get(key).expire(key, SESSION_TTL_SECONDS).exec()) as [
      [Error | null, string | null],
    ];
    return value ? (JSON.parse(value) as WebSession) : undefined;
  }

  async end(cookie: string): Promise<void> {
    await this.redis.del(this.key(cookie));
  }

  private key(cookie: string): string {
    return this.keys.webSession(createHash('sha256').update(cookie).digest('hex'));
  }
}
