import { randomBytes } from 'node:crypto';
import { type SourceBytes, sniffImageType } from '../core/source-images.js';
import type { RedisClient } from './redis-connection.js';
import type { RedisKeys } from './redis-keys.js';

/** A token: 32 random bytes, base64url (43 characters). Knowing it is the only way to the bytes. */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

/**
 * Image bytes kept in Redis for a while under a random token: what `GET /files/<token>` serves to Together, and
 * what the web playground uploads. One key per image, with its TTL; the type is read again from the bytes.
 */
export class SourceFiles {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  /** Keeps `bytes` for `ttlSeconds`; returns the token that reads them. */
  async put(bytes: Uint8Array, ttlSeconds: number): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    await this.redis.set(this.keys.sourceFile(token), Buffer.from(bytes), 'EX', ttlSeconds);
    return token;
  }

  /** The image under `token`, or undefined when the token is malformed, unknown or expired. */
  async get(token: string): Promise<SourceBytes | undefined> {
    if (!TOKEN.test(token)) return undefined;
    const bytes = await this.redis.getBuffer(this.keys.sourceFile(token));
    const mimeType = bytes ? sniffImageType(bytes) : undefined;
    return bytes && mimeType ? { bytes: new Uint8Array(bytes), mimeType } : undefined;
  }
}
