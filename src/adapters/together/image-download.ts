import { type Dispatcher, request } from 'undici';
import type { GeneratedImage } from '../../core/ports.js';
import {
  flattenHeaders,
  TogetherError,
  togetherErrorFromNetwork,
  togetherErrorFromResponse,
} from './together-error.js';

export interface DownloadOptions {
  maxBytes: number;
  timeoutMs: number;
  /** Together's CDN answers 403 to an empty User-Agent. */
  userAgent: string;
  dispatcher: Dispatcher;
  signal?: AbortSignal;
}

/** Drops a response body we no longer want, without an unhandled 'aborted' error from undici. */
export function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => {});
  body.destroy();
}

/** Recognises PNG, JPEG and WebP by their first bytes. */
export function sniffImage(bytes: Uint8Array): GeneratedImage['mimeType'] | undefined {
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
    return 'image/png';
  }
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (
    bytes.length >= 12 &&
    String.fromCharCode(...bytes.subarray(0, 4)) === 'RIFF' &&
    String.fromCharCode(...bytes.subarray(8, 12)) === 'WEBP'
  ) {
    return 'image/webp';
  }
  return undefined;
}

function downloadError(message: string, cause?: unknown): TogetherError {
  return new TogetherError({
    code: 'invalid_response',
    kind: 'download',
    phase: 'response',
    userMessage: `The generated image could not be downloaded from Together (${message}).`,
    logMessage: `image download failed: ${message}`,
    cause,
  });
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
    throw downloadError('the image URL is not valid');
  }
  if (parsed.protocol !== 'https:') throw downloadError('the image URL is not https');
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
    throw togetherErrorFromNetwork({
      kind: 'download',
      error,
      timedOut: timeout.aborted,
      timeoutMs: options.timeoutMs,
    });
  }
  const headers = flattenHeaders(response.headers);
  if (response.statusCode >= 400) {
    const bodyText = await response.body.text().catch(() => '');
    throw togetherErrorFromResponse({ kind: 'download', status: response.statusCode, headers, bodyText });
  }
  if (response.statusCode !== 200) {
    discard(response.body);
    throw downloadError(`HTTP ${response.statusCode}`);
  }
  const declared = Number(headers['content-length'] ?? Number.NaN);
  if (declared > options.maxBytes) {
    discard(response.body);
    throw downloadError(`the image is ${declared} bytes, over the ${options.maxBytes}-byte limit`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response.body) {
      size += (chunk as Buffer).length;
      if (size > options.maxBytes) {
        discard(response.body);
        throw downloadError(`the image is over the ${options.maxBytes}-byte limit`);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    if (error instanceof TogetherError) throw error;
    throw downloadError(
      timeout.aborted ? `no complete image within ${options.timeoutMs} ms` : 'the download broke off',
      error,
    );
  }
  const bytes = Buffer.concat(chunks);
  const mimeType = sniffImage(bytes);
  if (!mimeType) throw downloadError('the download is not a PNG, JPEG or WebP image');
  return { bytes: new Uint8Array(bytes), mimeType };
}
