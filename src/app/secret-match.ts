import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** A key of this process's own, so the digests compared below cannot be precomputed by anyone. */
const DIGEST_KEY = randomBytes(32);

/**
 * Compares a secret someone sent with the expected one in constant time. Both sides are digested first (an HMAC,
 * 32 bytes whatever their length), so neither the comparison nor an early length check tells how long the
 * expected secret is.
 */
export function secretsMatch(given: string, expected: string): boolean {
  const digest = (value: string) => createHmac('sha256', DIGEST_KEY).update(value, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}
