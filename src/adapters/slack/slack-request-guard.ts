import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The largest request body lorabot takes from Slack. Slack documents no maximum for what it sends; the largest
 * request lorabot can get is a slash command (its text is capped at 40,000 characters: under 500 KB
 * form-encoded even if every character is a 4-byte one) or a button press carrying its message (at most 50
 * blocks). 1 MiB holds both with room to spare.
 * @see https://docs.slack.dev/interactivity/implementing-slash-commands
 */
export const SLACK_BODY_LIMIT = 1024 * 1024;

/** How far a request's timestamp may be from our clock, either way, before it is refused (Slack's own rule). */
export const SLACK_TIMESTAMP_SKEW_SECONDS = 5 * 60;

/** An unsigned request is read only to see whether it is Slack's `ssl_check`, which is tiny. */
const SSL_CHECK_LIMIT = 1024;

const SIGNATURE = /^v0=[0-9a-f]{64}$/;
const TIMESTAMP = /^[0-9]{1,12}$/;

export interface GuardOptions {
  signingSecret: string;
  /** Unix milliseconds. */
  now(): number;
  /** Default {@link SLACK_BODY_LIMIT}. */
  bodyLimit?: number;
}

/** What reached us intact: the raw body, and whether its signature was checked (false only for `ssl_check`). */
export interface GuardedBody {
  raw: Buffer;
  signed: boolean;
}

/**
 * Reads a request body only as far as it can be trusted, then hands back the raw bytes, or answers the request
 * itself and resolves undefined: 413 as soon as the declared or counted size passes the limit, 401 for a
 * missing or malformed signature or a timestamp more than five minutes away (either way) before a byte of the
 * body is read, 401 when the HMAC of the raw bytes does not match. Nothing is parsed here.
 * @see https://docs.slack.dev/authentication/verifying-requests-from-slack
 */
export async function readSignedBody(
  req: IncomingMessage,
  res: ServerResponse,
  options: GuardOptions,
): Promise<GuardedBody | undefined> {
  const limit = options.bodyLimit ?? SLACK_BODY_LIMIT;
  const declared = declaredLength(req);
  if (declared === 'invalid') return refuse(res, 400);
  if (declared !== undefined && declared > limit) return refuse(res, 413);
  const signature = singleHeader(req, 'x-slack-signature');
  const timestamp = singleHeader(req, 'x-slack-request-timestamp');
  if (signature === undefined && timestamp === undefined) return readSslCheck(req, res, declared);
  if (!signature || !SIGNATURE.test(signature) || !timestamp || !TIMESTAMP.test(timestamp)) {
    return refuse(res, 401);
  }
  if (Math.abs(Math.floor(options.now() / 1000) - Number(timestamp)) > SLACK_TIMESTAMP_SKEW_SECONDS) {
    return refuse(res, 401);
  }
  const raw = await readLimited(req, limit);
  if (raw === 'too large') return refuse(res, 413);
  if (raw === 'broken') return refuse(res, 400);
  if (!signatureMatches(options.signingSecret, timestamp, raw, signature)) return refuse(res, 401);
  return { raw, signed: true };
}

/** Whether `v0=` + HMAC-SHA256(secret, `v0:{timestamp}:{body}`) equals the given signature, in constant time. */
export function signatureMatches(secret: string, timestamp: string, raw: Buffer, signature: string): boolean {
  const hmac = createHmac('sha256', secret);
  hmac.update(`v0:${timestamp}:`);
  hmac.update(raw);
  const expected = Buffer.from(`v0=${hmac.digest('hex')}`);
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Slack's SSL check comes unsigned; Bolt answers it 200. Only a small form body that says exactly that gets
 * read; anything else without a signature is refused unread.
 * @see https://docs.slack.dev/interactivity/implementing-slash-commands#ssl
 */
async function readSslCheck(
  req: IncomingMessage,
  res: ServerResponse,
  declared: number | undefined,
): Promise<GuardedBody | undefined> {
  const form = String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
  if (!form || declared === undefined || declared > SSL_CHECK_LIMIT) return refuse(res, 401);
  const raw = await readLimited(req, SSL_CHECK_LIMIT);
  if (typeof raw === 'string' || new URLSearchParams(raw.toString('utf8')).get('ssl_check') !== '1') {
    return refuse(res, 401);
  }
  return { raw: Buffer.from('ssl_check=1'), signed: false };
}

function declaredLength(req: IncomingMessage): number | undefined | 'invalid' {
  const header = req.headers['content-length'];
  if (header === undefined) return undefined;
  return /^[0-9]{1,15}$/.test(header) ? Number(header) : 'invalid';
}

function singleHeader(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' ? value : undefined;
}

/** The body, counted as it streams: stops listening the moment it passes `limit`, so the rest is never held. */
function readLimited(req: IncomingMessage, limit: number): Promise<Buffer | 'too large' | 'broken'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: Buffer | 'too large' | 'broken') => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onError);
      if (typeof result === 'string') req.pause();
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) finish('too large');
      else chunks.push(chunk);
    };
    const onEnd = () => finish(Buffer.concat(chunks, size));
    const onError = () => finish('broken');
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onError);
  });
}

/**
 * A refused request that declared at most this many bytes is read to its end and thrown away (never kept)
 * before it is answered, so a client writing a body a little over the limit gets its answer instead of a reset
 * (answering first would close the connection under a client still writing); a larger or undeclared one is
 * answered and cut at once.
 */
const DISCARD_BYTES = 4 * 1024 * 1024;
/** How long a refused request may keep sending what it declared before it is answered and the connection cut. */
const DISCARD_MS = 2000;

/**
 * Answers without keeping any more of the body. `Connection: close` ends the connection once the answer is out;
 * a small declared remainder is discarded first (see `DISCARD_BYTES`).
 */
function refuse(res: ServerResponse, status: 400 | 401 | 413): undefined {
  const answer = () => {
    if (!res.headersSent) res.writeHead(status, { connection: 'close', 'content-length': '0' });
    if (!res.writableEnded) res.end();
  };
  const req = res.req;
  const declared = req ? declaredLength(req) : undefined;
  if (!req || req.readableEnded || typeof declared !== 'number' || declared > DISCARD_BYTES) {
    answer();
    return undefined;
  }
  const timer = setTimeout(() => {
    answer();
    req.socket?.destroy();
  }, DISCARD_MS);
  timer.unref();
  req.once('end', () => {
    clearTimeout(timer);
    answer();
  });
  req.once('close', () => clearTimeout(timer));
  req.resume();
  return undefined;
}
