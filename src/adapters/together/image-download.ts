import { type Dispatcher, request } from 'undici';
import type { GeneratedImage } from '../../core/ports.js';
import { sniffImageType } from '../../core/source-images.js';
import { downloadError } from './download-error.js';
import { togetherErrorFromResponse } from './http-status-error.js';
import { errorCode, flattenHeaders, isConnectPhaseCode } from './network-error.js';
import { TogetherError } from './together-error.js';

/** The download limits when none are configured (`together.download` in the config file). */
export const DEFAULT_DOWNLOAD_LIMITS = { maxBytes: 25 * 1024 * 1024, timeoutMs: 60_000 } as const;

export interface DownloadOptions {
  maxBytes: number;
  timeoutMs: number;
  /** Together's CDN answers 403 to an empty User-Agent: `lorabot/<version>`. */
  userAgent: string;
  dispatcher: Dispatcher;
  signal?: AbortSignal;
}

/** Drops a response body we no longer want, without an unhandled 'aborted' error from undici. */
export function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => {});
  body.destroy();
}

/** Recognises PNG, JPEG and WebP by their first bytes (Together makes no GIFs). */
export function sniffImage(bytes: Uint8Array): GeneratedImage['mimeType'] | undefined {
  const type = sniffImageType(bytes);
  return type === 'image/gif' ? undefined : type;
}

/**
 * Downloads an image Together returned as a URL: https only, with a User-Agent, a size cap and a time limit.
 * Only URLs from Together's own response come here; the bot never fetches a URL a user typed.
 * @see https://docs.together.ai/docs/images-overview
 */
export async function downloadImage(url: string, options: DownloadOptions): Promise<GeneratedImage> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw downloadError({ problem: 'bad_url', detail: 'the image URL is not valid' });
  }
  if (parsed.protocol !== 'https:') {
    throw downloadError({ problem: 'bad_url', detail: `the image URL is ${parsed.protocol}, not https:` });
  }
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  let response: Dispatcher.ResponseData;
  try {
    response = await request(parsed, {
      method: 'GET',
      dispatcher: options.dispatcher,
      signal,
      headers: { 'user-agent': options.userAgent, accept: 'image/*' },
    });
  } catch (error) {
    if (options.signal?.aborted) throw error;
    throw networkDownloadError(error, timeout.aborted, options);
  }
  const headers = flattenHeaders(response.headers);
  if (response.statusCode >= 400) {
    const bodyText = await response.body.text().catch(() => '');
    throw togetherErrorFromResponse({ kind: 'download', status: response.statusCode, headers, bodyText });
  }
  if (response.statusCode !== 200) {
    discard(response.body);
    throw downloadError({
      problem: 'server',
      status: response.statusCode,
      detail: `HTTP ${response.statusCode}`,
    });
  }
  const tooLarge = (detail: string) =>
    downloadError({ problem: 'too_large', detail, maxBytes: options.maxBytes });
  const declared = Number(headers['content-length'] ?? Number.NaN);
  if (declared > options.maxBytes) {
    discard(response.body);
    throw tooLarge(`content-length ${declared} is over the ${options.maxBytes}-byte limit`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response.body) {
      size += (chunk as Buffer).length;
      if (size > options.maxBytes) {
        discard(response.body);
        throw tooLarge(`the body passed the ${options.maxBytes}-byte limit`);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    if (error instanceof TogetherError) throw error;
    if (options.signal?.aborted) throw error;
    throw networkDownloadError(error, timeout.aborted, options);
  }
  const bytes = Buffer.concat(chunks);
  const mimeType = sniffImage(bytes);
  if (!mimeType) {
    throw downloadError({
      problem: 'not_image',
      detail: `${bytes.length} bytes of ${headers['content-type'] ?? 'no content-type'}, not PNG, JPEG or WebP`,
    });
  }
  return { bytes: new Uint8Array(bytes), mimeType };
}

/** A download with no HTTP answer (or a body that stopped): timed out, never connected, or broke off. */
function networkDownloadError(error: unknown, timedOut: boolean, options: DownloadOptions): TogetherError {
  const code = errorCode(error) ?? (error instanceof Error ? error.name : 'error');
  if (timedOut || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return downloadError({
      problem: 'timeout',
      detail: `no complete image within ${options.timeoutMs} ms (${code})`,
      timeoutMs: options.timeoutMs,
      cause: error,
    });
  }
  const problem = isConnectPhaseCode(code) ? 'unreachable' : 'broken';
  return downloadError({ problem, detail: code, cause: error });
}
