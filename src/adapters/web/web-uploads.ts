import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SourceImage } from '../../core/requests.js';
import { type SourceBytes, sniffImageSize, sniffImageType } from '../../core/source-images.js';
import { json, readBytes } from './web-http.js';

/** Images uploaded from the page, kept for a while under a token (src/queue/source-files.ts). */
export interface WebUploads {
  /** The largest upload, in bytes (`sources.max_bytes`). */
  maxBytes: number;
  put(bytes: Uint8Array): Promise<string>;
  /** The image under `token`, or undefined when the token is unknown or expired. */
  get(token: string): Promise<SourceBytes | undefined>;
}

/** Said when a command names an upload that is no longer kept. */
export const UPLOAD_GONE = 'The attached image has expired (uploads are kept for an hour). Attach it again.';

/**
 * `POST /api/uploads`: an image as its raw bytes, at most `maxBytes`, a PNG, JPEG, WebP or GIF by its first bytes
 * (never by its name or the type the browser says). Answers its token (201), which a command then names in
 * `images`; a refusal is a 413 or 415 with the message the page shows.
 */
export async function receiveUpload(
  uploads: WebUploads,
  { req, res }: { req: IncomingMessage; res: ServerResponse },
): Promise<void> {
  const bytes = await readBytes(req, uploads.maxBytes);
  if (bytes === 'too_large') {
    return json(res, 413, {
      error: `That image is larger than the limit of ${megabytes(uploads.maxBytes)} MB (sources.max_bytes). Attach a smaller one.`,
    });
  }
  const mimeType = sniffImageType(bytes);
  if (!mimeType)
    return json(res, 415, { error: 'That file is not a PNG, JPEG, WebP or GIF image. Attach one of those.' });
  json(res, 201, { token: await uploads.put(bytes), mimeType, bytes: bytes.length });
}

/**
 * The uploads a command names, as the source images the inbound service checks: their type, size and pixel size
 * read from the kept bytes (what the page says of them is not trusted). `gone` when one is no longer kept.
 */
export async function uploadedImages(
  uploads: WebUploads,
  tokens: readonly string[],
): Promise<SourceImage[] | 'gone'> {
  const images: SourceImage[] = [];
  for (const token of tokens) {
    const kept = await uploads.get(token);
    if (!kept) return 'gone';
    const size = sniffImageSize(kept.bytes);
    images.push({ kind: 'stored', token, mimetype: kept.mimeType, bytes: kept.bytes.length, ...size });
  }
  return images;
}

function megabytes(bytes: number): string {
  return String(Math.round((bytes / (1024 * 1024)) * 10) / 10);
}
