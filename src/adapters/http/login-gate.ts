import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../core/ports.js';

/** Each failed attempt makes that client's next attempt wait this much longer. */
export const FAILED_LOGIN_DELAY_MS = 1000;
/** A client whose attempts are queued further ahead than this is told to come back later (429). */
const MAX_HOLD_MS = 10_000;
/** Failure records of clients quiet this long are forgotten. */
const FORGET_AFTER_MS = 15 * 60_000;

export interface LoginGateOptions {
  /** What the 401 challenge and the log lines call this door, e.g. `admin`. */
  realm: string;
  /** `WWW-Authenticate` on a 401. */
  challenge: string;
  /** Whether an `Authorization` header holds the right credentials (compared in constant time). */
  accepts(authorization: string): boolean;
  logger: Logger;
  now?: () => number;
  delayMs?: number;
}

interface ClientState {
  failures: number;
  /** The earliest time this client's next attempt is checked. */
  nextAt: number;
}

/**
 * A door with a password: credentials are checked in constant time, and each failure costs its client (by
 * address) a delay before its next attempt is even looked at, so guessing runs at one try per second, not
 * thousands; attempts queued more than 10 s ahead are answered 429 at once, so held connections stay few. Every
 * failure is a warning in the log, with the client's address and its count, never what was sent.
 */
export class LoginGate {
  private readonly clients = new Map<string, ClientState>();
  private readonly now: () => number;
  private readonly delayMs: number;

  constructor(private readonly options: LoginGateOptions) {
    this.now = options.now ?? Date.now;
    this.delayMs = options.delayMs ?? FAILED_LOGIN_DELAY_MS;
  }

  /** True when the request may pass; otherwise it has been answered (401 or 429). */
  async admit(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const header = req.headers.authorization;
    if (header === undefined) {
      // A browser's first request carries no credentials: ask for them, without counting a failure.
      this.refuse(res);
      return false;
    }
    const client = req.socket.remoteAddress ?? 'unknown';
    const waitMs = this.reserve(client);
    if (waitMs > MAX_HOLD_MS) {
      res.writeHead(429, { 'retry-after': String(Math.ceil(waitMs / 1000)) });
      res.end();
      return false;
    }
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
    if (this.options.accepts(header)) {
      this.clients.delete(client);
      return true;
    }
    this.failed(client);
    this.refuse(res);
    return false;
  }

  /** How long this client's attempt must wait; a client with failures has its next slot moved on. */
  private reserve(client: string): number {
    const state = this.clients.get(client);
    if (!state) return 0;
    const now = this.now();
    const at = Math.max(now, state.nextAt);
    if (at - now <= MAX_HOLD_MS) state.nextAt = at + this.delayMs;
    return at - now;
  }

  private failed(client: string): void {
    const now = this.now();
    const state = this.clients.get(client) ?? { failures: 0, nextAt: now };
    state.failures += 1;
    state.nextAt = Math.max(state.nextAt, now + this.delayMs);
    this.clients.set(client, state);
    this.options.logger.warn(
      { realm: this.options.realm, client, failures: state.failures },
      `${this.options.realm} login failed`,
    );
    if (this.clients.size > 10_000) this.forget(now);
  }

  private forget(now: number): void {
    for (const [client, state] of this.clients)
      if (state.nextAt + FORGET_AFTER_MS < now) this.clients.delete(client);
  }

  private refuse(res: ServerResponse): void {
    res.writeHead(401, { 'www-authenticate': this.options.challenge });
    res.end();
  }
}
