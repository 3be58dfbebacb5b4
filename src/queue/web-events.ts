import { type RedisClient, waitReady } from './redis-connection.js';
import type { RedisKeys } from './redis-keys.js';

/** A session's stream keeps about this many events (older ones are trimmed). */
const MAX_EVENTS = 1000;
/** Events and images outlive the last activity by a day. */
const TTL_SECONDS = 86_400;
/** How long one blocking read waits before the relay sends a keep-alive. */
const BLOCK_MS = 15_000;

/** One stored event: its stream id (the SSE `id`, for `Last-Event-ID`) and its JSON text. */
export interface StoredEvent {
  id: string;
  json: string;
}

/**
 * The web platform's mailbox in Redis. A worker (in any process) appends a browser session's events to that
 * session's stream (`XADD` capped with `MAXLEN ~`, expiring a day after the last one) and keeps image bytes under
 * their own expiring keys; the gateway reads the stream from where the browser left off and relays it.
 */
export class WebEventLog {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  /** @see https://redis.io/docs/latest/commands/xadd/ */
  async append(sessionId: string, event: object): Promise<void> {
    const key = this.keys.webEvents(sessionId);
    await this.redis
      .multi()
      .xadd(key, 'MAXLEN', '~', String(MAX_EVENTS), '*', 'event', JSON.stringify(event))
      .expire(key, TTL_SECONDS)
      .exec();
  }

  async putImage(messageId: string, index: number, image: { bytes: Uint8Array; mimeType: string }) {
    const value = Buffer.concat([Buffer.from(`${image.mimeType}\n`), Buffer.from(image.bytes)]);
    await this.redis.set(this.keys.webImage(messageId, index), value, 'EX', TTL_SECONDS);
  }

  async image(messageId: string, index: number): Promise<{ bytes: Buffer; mimeType: string } | undefined> {
    const value = await this.redis.getBuffer(this.keys.webImage(messageId, index));
    if (!value) return undefined;
    const newline = value.indexOf(10);
    return { mimeType: value.subarray(0, newline).toString(), bytes: value.subarray(newline + 1) };
  }

  /** Which of these messages still have their first image kept (for thumbnails). */
  async withImages(messageIds: readonly string[]): Promise<Set<string>> {
    if (messageIds.length === 0) return new Set();
    const multi = this.redis.multi();
    for (const id of messageIds) multi.exists(this.keys.webImage(id, 0));
    const results = (await multi.exec()) ?? [];
    return new Set(messageIds.filter((_, i) => results[i]?.[1] === 1));
  }

  /**
   * Follows a session's stream from just after `afterId` ('0': from the start), calling `deliver` with each batch,
   * and `idle` each time nothing came for a while, until `signal` aborts. It reads on its own connection, since a
   * blocking read holds the connection it runs on.
   * @see https://redis.io/docs/latest/commands/xread/
   */
  async follow(
    sessionId: string,
    afterId: string,
    handlers: { deliver(events: StoredEvent[]): void; idle(): void; signal: AbortSignal },
  ): Promise<void> {
    const reader = this.redis.duplicate();
    const stop = () => reader.disconnect();
    handlers.signal.addEventListener('abort', stop, { once: true });
    let last = afterId;
    try {
      // A gateway's connections queue nothing while offline: read only once this one is up.
      await waitReady(reader);
      while (!handlers.signal.aborted) {
        const result = await reader.xread(
          'COUNT',
          100,
          'BLOCK',
          BLOCK_MS,
          'STREAMS',
          this.keys.webEvents(sessionId),
          last,
        );
        const entries = result?.[0]?.[1] ?? [];
        if (entries.length === 0) {
          handlers.idle();
          continue;
        }
        handlers.deliver(entries.map(([id, fields]) => ({ id, json: fields[1] ?? '{}' })));
        last = entries.at(-1)![0];
      }
    } catch (error) {
      if (!handlers.signal.aborted) throw error;
    } finally {
      handlers.signal.removeEventListener('abort', stop);
      reader.disconnect();
    }
  }
}
