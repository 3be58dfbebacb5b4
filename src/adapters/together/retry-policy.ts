import type { TogetherError } from './together-error.js';

/**
 * When to send a failed Together call again, and after how long: one pure function, so the rules can be read and
 * tested in one place (research/together-contract.md §6).
 *
 * - Never after the attempts run out, after a cancel, or when an image request may already be billed (its body
 *   was sent and the connection then failed or timed out: Together has no idempotency keys).
 * - Never for what only an operator can fix (`TogetherError.permanent`: no or a rejected key, no credits, a model
 *   that refuses LoRAs, is gone, or needs data sharing), whatever `x-should-retry` says.
 * - Always for connect-phase failures: Together never saw the request.
 * - Images: only 429 (and the legacy 400 `rate_limit`) and 503. Chat: 408, 409, 429 and 501+, not 500 (matching
 *   Together's own SDK). A stream only before its first token.
 * - `x-should-retry` from the server overrides the status rules.
 * - Wait `retry-after-ms`, else `retry-after` (seconds or an HTTP date), else jittered exponential backoff. A
 *   server that asks for more than `maxServerDelayMs` is not waited on: the user is told instead.
 */
export interface RetryOptions {
  /** Retries after the first attempt. */
  maxRetries: number;
  baseDelayMs: number;
  maxBackoffMs: number;
  maxServerDelayMs: number;
}

export const DEFAULT_RETRY_OPTIONS: RetryOptions = {
  maxRetries: 2,
  baseDelayMs: 1000,
  maxBackoffMs: 10_000,
  maxServerDelayMs: 60_000,
};

export type RetryDecision =
  | { retry: true; delayMs: number; reason: string }
  | { retry: false; reason: string };

export interface RetryInput {
  error: TogetherError;
  /** Retries already made (0 after the first attempt failed). */
  retriesSoFar: number;
  options: RetryOptions;
  /** For a stream: whether any token had arrived before it failed. */
  streamStarted?: boolean;
  /** A number in [0, 1) for jitter. */
  random: number;
  /** Now, in ms since the epoch, for `retry-after` HTTP dates. */
  now: number;
}

const CHAT_RETRY_STATUSES = new Set([408, 409, 429]);
const IMAGE_RETRY_CODES = new Set(['rate_limited', 'overloaded']);

export function decideRetry(input: RetryInput): RetryDecision {
  const { error, retriesSoFar, options } = input;
  if (retriesSoFar >= options.maxRetries)
    return { retry: false, reason: `gave up after ${retriesSoFar + 1} attempts` };
  if (error.code === 'aborted') return { retry: false, reason: error.code };
  if (error.permanent) return { retry: false, reason: `${error.code} needs an operator` };
  if (error.mayBeBilled) return { retry: false, reason: 'the request may already be billed' };
  if (input.streamStarted) return { retry: false, reason: 'the stream had already started' };

  const retryable = isRetryable(error);
  if (!retryable.retry) return retryable;
  const serverDelay = serverRequestedDelay(error.headers, input.now);
  if (serverDelay !== undefined) {
    if (serverDelay > options.maxServerDelayMs) {
      return {
        retry: false,
        reason: `the server asked to wait ${Math.ceil(serverDelay / 1000)} s, over the cap`,
      };
    }
    return { retry: true, delayMs: serverDelay, reason: `${retryable.reason}; server asked to wait` };
  }
  const backoff = Math.min(options.baseDelayMs * 2 ** retriesSoFar, options.maxBackoffMs);
  return { retry: true, delayMs: Math.round(backoff * (1 - input.random * 0.25)), reason: retryable.reason };
}

function isRetryable(error: TogetherError): RetryDecision {
  if (error.phase === 'connect') return { retry: true, delayMs: 0, reason: 'connect failure' };
  if (error.phase === 'sent') {
    return error.kind === 'image'
      ? { retry: false, reason: 'image request sent without an answer' }
      : { retry: true, delayMs: 0, reason: `${error.code} before a response` };
  }
  if (error.code === 'stream_error' || error.code === 'invalid_response') {
    return { retry: false, reason: error.code };
  }
  const shouldRetry = error.headers['x-should-retry'];
  if (shouldRetry === 'true') return { retry: true, delayMs: 0, reason: 'x-should-retry: true' };
  if (shouldRetry === 'false') return { retry: false, reason: 'x-should-retry: false' };
  const status = error.status ?? 0;
  if (error.kind === 'image') {
    return IMAGE_RETRY_CODES.has(error.code)
      ? { retry: true, delayMs: 0, reason: `HTTP ${status}` }
      : { retry: false, reason: `HTTP ${status} is not retried for images` };
  }
  if (error.kind === 'download') {
    return status === 408 || status === 429 || status >= 500
      ? { retry: true, delayMs: 0, reason: `HTTP ${status}` }
      : { retry: false, reason: `HTTP ${status}` };
  }
  if (error.code === 'rate_limited' || CHAT_RETRY_STATUSES.has(status) || status >= 501) {
    return { retry: true, delayMs: 0, reason: `HTTP ${status}` };
  }
  return { retry: false, reason: `HTTP ${status} is not retried` };
}

/** `retry-after-ms` (milliseconds), else `retry-after` (seconds, fractional allowed, or an HTTP date). */
export function serverRequestedDelay(
  headers: Readonly<Record<string, string>>,
  now: number,
): number | undefined {
  const ms = headers['retry-after-ms'];
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.ceil(Number(ms));
  const after = headers['retry-after']?.trim();
  if (!after) return undefined;
  if (/^\d+(\.\d+)?$/.test(after)) return Math.ceil(Number(after) * 1000);
  const date = Date.parse(after);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
