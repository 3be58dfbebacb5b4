import { describe, expect, it } from 'vitest';
import { togetherErrorFromResponse } from '../../../src/adapters/together/http-status-error.js';
import { togetherErrorFromNetwork } from '../../../src/adapters/together/network-error.js';
import {
  DEFAULT_RETRY_OPTIONS,
  decideRetry,
  serverRequestedDelay,
} from '../../../src/adapters/together/retry-policy.js';
import {
  type CallKind,
  type CallPhase,
  TogetherError,
} from '../../../src/adapters/together/together-error.js';

const NOW = Date.parse('2026-11-23T12:00:00Z');

function response(kind: CallKind, status: number, headers: Record<string, string> = {}, bodyText = '') {
  return togetherErrorFromResponse({ kind, status, headers, bodyText });
}

function network(kind: CallKind, code: string, timedOut = false) {
  return togetherErrorFromNetwork({
    kind,
    error: Object.assign(new Error(code), { code }),
    timedOut,
    timeoutMs: 1000,
  });
}

function decide(
  error: TogetherError,
  retriesSoFar = 0,
  extra: { streamStarted?: boolean; random?: number } = {},
) {
  return decideRetry({
    error,
    retriesSoFar,
    options: DEFAULT_RETRY_OPTIONS,
    random: extra.random ?? 0,
    now: NOW,
    ...(extra.streamStarted !== undefined ? { streamStarted: extra.streamStarted } : {}),
  });
}

describe('the retry policy', () => {
  const table: Array<[string, TogetherError, boolean]> = [
    ['image 429', response('image', 429), true],
    [
      'image 400 rate_limit',
      response('image', 400, {}, '{"error":{"message":"x","code":"rate_limit"}}'),
      true,
    ],
    ['image 503', response('image', 503), true],
    ['image 500', response('image', 500), false],
    ['image 502', response('image', 502), false],
    ['image 504 (may be running, billed)', response('image', 504), false],
    ['image 408', response('image', 408), false],
    ['image 400', response('image', 400), false],
    ['image 401', response('image', 401), false],
    ['image 402', response('image', 402), false],
    ['image 404', response('image', 404), false],
    ['image connection refused', network('image', 'ECONNREFUSED'), true],
    ['image connect timeout', network('image', 'UND_ERR_CONNECT_TIMEOUT'), true],
    ['image socket closed after sending', network('image', 'UND_ERR_SOCKET'), false],
    ['image reset after sending', network('image', 'ECONNRESET'), false],
    ['image timed out', network('image', 'ABORT_ERR', true), false],
    ['chat 408', response('chat', 408), true],
    ['chat 409', response('chat', 409), true],
    ['chat 429', response('chat', 429), true],
    ['chat 500', response('chat', 500), false],
    ['chat 501', response('chat', 501), true],
    ['chat 502', response('chat', 502), true],
    ['chat 503', response('chat', 503), true],
    ['chat 504', response('chat', 504), true],
    ['chat 400', response('chat', 400), false],
    ['chat 403', response('chat', 403), false],
    ['chat 422', response('chat', 422), false],
    ['chat socket closed', network('chat', 'UND_ERR_SOCKET'), true],
    ['chat timed out', network('chat', 'ABORT_ERR', true), true],
    ['download 503', response('download', 503), true],
    ['download 404', response('download', 404), false],
    ['503 with x-should-retry: false', response('chat', 503, { 'x-should-retry': 'false' }), false],
    ['400 with x-should-retry: true', response('chat', 400, { 'x-should-retry': 'true' }), true],
  ];

  it.each(table)('%s → retry: %s', (_, error, retry) => {
    expect(decide(error).retry).toBe(retry);
  });

  it('never retries once the attempts are used up', () => {
    const error = response('chat', 503);
    expect(decide(error, 1).retry).toBe(true);
    expect(decide(error, 2)).toEqual({ retry: false, reason: 'gave up after 3 attempts' });
  });

  it('never restarts a stream after its first token', () => {
    expect(decide(response('stream', 503), 0, { streamStarted: true }).retry).toBe(false);
    expect(decide(response('stream', 503), 0, { streamStarted: false }).retry).toBe(true);
  });

  it('never retries a cancelled call or a missing key', () => {
    const aborted = new TogetherError({
      code: 'aborted',
      kind: 'chat',
      phase: 'sent',
      userMessage: 'x',
      logMessage: 'x',
    });
    const missing = new TogetherError({
      code: 'not_configured',
      kind: 'chat',
      phase: 'connect',
      userMessage: 'x',
      logMessage: 'x',
    });
    expect(decide(aborted).retry).toBe(false);
    expect(decide(missing).retry).toBe(false);
  });

  it('backs off exponentially with up to 25 % jitter, capped', () => {
    const error = response('chat', 503);
    const delay = (retries: number, random: number) => {
      const d = decideRetry({
        error,
        retriesSoFar: retries,
        options: { ...DEFAULT_RETRY_OPTIONS, maxRetries: 10 },
        random,
        now: NOW,
      });
      return d.retry ? d.delayMs : -1;
    };
    expect([0, 1, 2, 3, 4, 5].map((r) => delay(r, 0))).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000]);
    expect(delay(0, 0.999)).toBe(750);
  });

  it('waits what the server asks, within the cap', () => {
    const ask = (headers: Record<string, string>) => decide(response('chat', 429, headers));
    expect(ask({ 'retry-after-ms': '1500' })).toMatchObject({ retry: true, delayMs: 1500 });
    expect(ask({ 'retry-after': '2' })).toMatchObject({ retry: true, delayMs: 2000 });
    expect(ask({ 'retry-after': '0.5' })).toMatchObject({ retry: true, delayMs: 500 });
    expect(ask({ 'retry-after': new Date(NOW + 3000).toUTCString() })).toMatchObject({
      retry: true,
      delayMs: 3000,
    });
    expect(ask({ 'retry-after': '600' })).toMatchObject({ retry: false });
    expect(serverRequestedDelay({ 'retry-after': 'soon' }, NOW)).toBeUndefined();
  });
});

describe('the error factory', () => {
  it('keeps the request id and parses Together’s error body', () => {
    const error = response(
      'chat',
      400,
      { 'x-request-id': 'req-1' },
      '{"error":{"message":"max_tokens too large","type":"invalid_request_error","code":null}}',
    );
    expect(error.requestId).toBe('req-1');
    expect(error.userMessage).toBe('Together rejected the request: max_tokens too large');
    expect(error.message).toContain('HTTP 400');
  });

  it('reads HTML and text bodies defensively', () => {
    const html = response('chat', 502, {}, '<html><body><h1>502 Bad Gateway</h1></body></html>');
    expect(html.message).toContain('502 Bad Gateway');
    expect(html.message).not.toContain('<h1>');
  });

  it('speaks to the operator for key, credit and model problems', () => {
    expect(response('image', 401).userMessage).toMatch(/TOGETHER_API_KEY/);
    expect(response('image', 402).userMessage).toMatch(/credits/);
    expect(response('image', 404).userMessage).toMatch(/set image\.model/);
    expect(response('chat', 404).userMessage).toMatch(/chat\.models/);
    const deprecated = response(
      'image',
      400,
      {},
      '{"error":{"message":"Model black-forest-labs/FLUX.1-dev-lora is deprecated","type":"invalid_request_error"}}',
    );
    expect(deprecated.code).toBe('model_unavailable');
    expect(deprecated.userMessage).toMatch(/no longer served by Together.*set image\.model/);
  });

  it.each<[CallPhase, string]>([
    ['connect', 'ECONNREFUSED'],
    ['sent', 'UND_ERR_SOCKET'],
  ])('classifies network failures by phase (%s)', (phase, code) => {
    expect(network('image', code).phase).toBe(phase);
  });
});
