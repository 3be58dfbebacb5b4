import { LorabotError, type ProviderFailure } from './lorabot-error.js';

/** The image types a source may be: what Together's image and vision endpoints read. */
export type SourceImageType = 'image/png' | 'image/jpeg' | 'image/webp' | 'image/gif';

/** An image's bytes and its type, as its first bytes say (never as a header or a file name says). */
export interface SourceBytes {
  bytes: Uint8Array;
  mimeType: SourceImageType;
}

/**
 * Downloads a file shared on Slack with the bot token (Slack's `url_private` links need it): size-capped,
 * time-limited, type-checked. Throws a `SourceImageError`.
 */
export interface SlackFileSource {
  download(url: string, signal?: AbortSignal): Promise<SourceBytes>;
}

/** Recognises PNG, JPEG, WebP and GIF by their first bytes. */
export function sniffImageType(bytes: Uint8Array): SourceImageType | undefined {
  const ascii = (from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to));
  if (bytes.length >= 8 && bytes[0] === 0x89 && ascii(1, 4) === 'PNG') return 'image/png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'image/webp';
  if (bytes.length >= 6 && (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a')) return 'image/gif';
  return undefined;
}

/**
 * An image's pixel size as its header says (PNG, JPEG, WebP, GIF), or undefined when the header cannot be read.
 * A vision question's estimate counts its tiles from it (Together bills by the size).
 */
export function sniffImageSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  const type = sniffImageType(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = (width: number, height: number) => (width > 0 && height > 0 ? { width, height } : undefined);
  if (type === 'image/png' && bytes.length >= 24) return size(view.getUint32(16), view.getUint32(20));
  if (type === 'image/gif' && bytes.length >= 10)
    return size(view.getUint16(6, true), view.getUint16(8, true));
  if (type === 'image/webp' && bytes.length >= 30) return webpSize(bytes, view);
  if (type === 'image/jpeg') return jpegSize(bytes, view);
  return undefined;
}

/** WebP: the lossy (`VP8 `), lossless (`VP8L`) and extended (`VP8X`) headers each keep the size their own way. */
function webpSize(bytes: Uint8Array, view: DataView): { width: number; height: number } | undefined {
  const chunk = String.fromCharCode(...bytes.subarray(12, 16));
  const u24 = (at: number) => bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16);
  if (chunk === 'VP8X') return { width: u24(24) + 1, height: u24(27) + 1 };
  if (chunk === 'VP8L') {
    const bits = view.getUint32(21, true);
    return { width: (bits & 0x3fff) + 1, height: ((bits >> 14) & 0x3fff) + 1 };
  }
  if (chunk === 'VP8 ')
    return { width: view.getUint16(26, true) & 0x3fff, height: view.getUint16(28, true) & 0x3fff };
  return undefined;
}

/** JPEG: the first start-of-frame marker (SOF0–SOF15 but DHT, JPG and DAC) holds the size. */
function jpegSize(bytes: Uint8Array, view: DataView): { width: number; height: number } | undefined {
  let at = 2;
  while (at + 9 < bytes.length && bytes[at] === 0xff) {
    const marker = bytes[at + 1]!;
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame) return { width: view.getUint16(at + 7), height: view.getUint16(at + 5) };
    at += 2 + view.getUint16(at + 2);
  }
  return undefined;
}

/** An image inline, as Together's vision endpoint (and an image endpoint that takes one) reads it. */
export function dataUrl(image: SourceBytes): string {
  return `data:${image.mimeType};base64,${Buffer.from(image.bytes).toString('base64')}`;
}

/** Why a source image could not be had. */
export type SourceProblem =
  | 'not_image'
  | 'too_large'
  | 'timeout'
  | 'not_found'
  | 'refused'
  | 'server'
  | 'unreachable'
  | 'bad_url'
  | 'no_slack'
  | 'no_public_url'
  | 'result_gone'
  | 'upload_gone';

/**
 * Said when a request starts from an image Together cannot fetch itself (a Slack file, an upload, an earlier
 * result) and the bot can neither inline it nor link to it.
 */
export const NO_PUBLIC_URL =
  'This request starts from an image Together can only read through a link to this bot, and the bot has no ' +
  'public address. An admin can set gateway.public_url (the https address of the gateway) in the config, or ' +
  'sources.image_as: data_url if the image model takes images inline.';

/** Problems that may pass: the job is tried again (with the queue's backoff) before it fails. */
const PASSING: ReadonlySet<SourceProblem> = new Set<SourceProblem>(['timeout', 'server', 'unreachable']);

/**
 * A source image the worker could not turn into something Together reads. It ends the job before any Together
 * call, so nothing was billed: `$0`, and no retry unless the trouble may pass (a timeout, Slack's own error).
 */
export class SourceImageError extends LorabotError<`source_${SourceProblem}`> implements ProviderFailure {
  readonly mayBeBilled = false;
  readonly billed = false;
  readonly retryLater: boolean;

  constructor(
    readonly problem: SourceProblem,
    options: { userMessage: string; logMessage: string; cause?: unknown },
  ) {
    super({ code: `source_${problem}`, ...options });
    this.retryLater = PASSING.has(problem);
  }
}

/** What a source problem needs to be told: the limits it broke, the status it got. */
export interface SourceProblemFacts {
  maxBytes?: number;
  timeoutMs?: number;
  status?: number;
  /** Slack answered a sign-in page instead of the file: the bot token lacks `files:read`. */
  signIn?: boolean;
}

/** A `SourceImageError` with the message a person can act on; `detail` is for the log only. */
export function sourceImageError(
  problem: SourceProblem,
  detail: string,
  facts: SourceProblemFacts = {},
  cause?: unknown,
): SourceImageError {
  return new SourceImageError(problem, {
    userMessage: SOURCE_TEXT[problem](facts),
    logMessage: `source image (${problem}): ${detail}`,
    cause,
  });
}

const SLACK = 'The image shared on Slack could not be used:';

const SOURCE_TEXT: Record<SourceProblem, (facts: SourceProblemFacts) => string> = {
  not_image: ({ signIn }) =>
    signIn
      ? `${SLACK} Slack answered with a sign-in page instead of the file. An admin can add the files:read scope to the Slack app and reinstall it.`
      : `${SLACK} it is not a PNG, JPEG, WebP or GIF image. Share one of those and try again.`,
  too_large: ({ maxBytes = 0 }) =>
    `${SLACK} it is larger than the bot's limit of ${formatSize(maxBytes)} (sources.max_bytes). Share a smaller image.`,
  timeout: ({ timeoutMs = 0 }) =>
    `${SLACK} Slack did not send it within ${formatSeconds(timeoutMs)}. Try again shortly.`,
  not_found: ({ status }) =>
    `${SLACK} Slack no longer has the file (HTTP ${status}): it may have been deleted. Share it again.`,
  refused: ({ status }) =>
    `${SLACK} Slack refused the bot access to the file (HTTP ${status}). An admin can check that the app has the files:read scope and is in the channel.`,
  server: ({ status }) => `${SLACK} Slack answered HTTP ${status}. Try again shortly.`,
  unreachable: () => `${SLACK} Slack's file server could not be reached. Try again shortly.`,
  bad_url: () => `${SLACK} its link is not a Slack file link, so the bot did not send its token there.`,
  no_slack: () => `${SLACK} this worker has no Slack bot token (SLACK_BOT_TOKEN) to download it with.`,
  no_public_url: () => NO_PUBLIC_URL,
  result_gone: () =>
    'That image is no longer available to start from (the bot keeps its images for sources.keep_results_hours). ' +
    'Share the image itself, or make a new one.',
  upload_gone: () => 'The uploaded image has expired. Upload it again.',
};

function formatSize(bytes: number): string {
  const mb = bytes / (1024 * 1024);
  return mb >= 1 ? `${Math.round(mb * 10) / 10} MB` : `${bytes} bytes`;
}

function formatSeconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
}
