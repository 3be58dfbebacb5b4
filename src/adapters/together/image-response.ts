import type { GeneratedImage } from '../../core/ports.js';
import { type DownloadOptions, downloadImage, sniffImage } from './image-download.js';
import { invalidResponse } from './response-body.js';
import { decideRetry, type RetryOptions } from './retry-policy.js';
import { TogetherError } from './together-error.js';

/**
 * The images of a 200 from `/images/generations`: each item is either `b64_json` or a `url` on Together's CDN,
 * downloaded here. Branch on the field present, not on `type`: older responses have no `type`.
 * @see https://docs.together.ai/reference/post-images-generations
 */
export async function readImages(json: unknown, options: GeneratedImageDownload): Promise<GeneratedImage[]> {
  const { requestId } = options;
  const items = (json as { data?: unknown }).data;
  if (!Array.isArray(items) || items.length === 0) {
    throw invalidResponse('image', 'the image response had no data items', requestId);
  }
  const images: GeneratedImage[] = [];
  for (const item of items as Array<Record<string, unknown>>) {
    if (typeof item.b64_json === 'string') {
      const bytes = Buffer.from(item.b64_json, 'base64');
      const mimeType = sniffImage(bytes);
      if (!mimeType)
        throw invalidResponse('image', 'a b64_json item is not a PNG, JPEG or WebP image', requestId);
      images.push({ bytes: new Uint8Array(bytes), mimeType });
    } else if (typeof item.url === 'string') {
      images.push(await downloadGeneratedImage(item.url, options));
    } else {
      throw invalidResponse('image', 'an image item has neither b64_json nor url', requestId);
    }
  }
  return images;
}

/** What downloading a generated image needs besides its URL: the download's limits and the retry policy's. */
export interface GeneratedImageDownload {
  download: DownloadOptions;
  retry: RetryOptions;
  /** Together's id of the generation that made the image, kept on the error. */
  requestId: string | undefined;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  random: () => number;
  now: () => number;
}

/** Downloads one generated image; if that fails for good, the generation itself was still done and billed. */
export async function downloadGeneratedImage(
  url: string,
  options: GeneratedImageDownload,
): Promise<GeneratedImage> {
  const { requestId } = options;
  for (let retries = 0; ; retries++) {
    try {
      return await downloadImage(url, options.download);
    } catch (caught) {
      if (!(caught instanceof TogetherError)) throw caught;
      // The download's own message stands: Together answered 200, so the generation was done and billed.
      const giveUp = () =>
        new TogetherError({
          code: 'download_failed',
          kind: 'image',
          phase: 'response',
          status: 200,
          mayBeBilled: true,
          ...(requestId ? { requestId } : {}),
          userMessage: caught.userMessage,
          logMessage: caught.message,
          cause: caught,
        });
      const decision = decideRetry({
        error: caught,
        retriesSoFar: retries,
        options: options.retry,
        random: options.random(),
        now: options.now(),
      });
      if (!decision.retry) throw giveUp();
      await options.sleep(decision.delayMs, options.download.signal);
    }
  }
}
