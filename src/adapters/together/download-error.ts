import type { ProviderErrorBody } from './error-body.js';
import { type CallPhase, TogetherError } from './together-error.js';

/** Why an image Together made could not be downloaded from its CDN. */
export type DownloadProblem =
  | 'link_refused'
  | 'server'
  | 'timeout'
  | 'unreachable'
  | 'broken'
  | 'too_large'
  | 'not_image'
  | 'bad_url';

/**
 * A failed download of an image Together made. It has its own wording: the generation worked (and was billed), so
 * neither the generation's nor the chat's messages fit. `detail` is for the log only.
 */
export function downloadError(input: {
  problem: DownloadProblem;
  detail: string;
  status?: number;
  headers?: Readonly<Record<string, string>>;
  timeoutMs?: number;
  maxBytes?: number;
  cause?: unknown;
}): TogetherError {
  const { problem, status } = input;
  // The phase drives the retry policy: a CDN never reached, or a download cut short, may be tried again.
  const phase: CallPhase =
    problem === 'unreachable'
      ? 'connect'
      : problem === 'broken' || problem === 'timeout'
        ? 'sent'
        : 'response';
  return new TogetherError({
    code: 'download_failed',
    kind: 'download',
    phase,
    ...(status !== undefined ? { status } : {}),
    ...(input.headers ? { headers: input.headers } : {}),
    userMessage: `Together made the image, but the bot could not download it: ${DOWNLOAD_TEXT[problem](input)}`,
    logMessage: `image download failed (${problem}): ${input.detail}`,
    cause: input.cause,
  });
}

const DOWNLOAD_TEXT: Record<
  DownloadProblem,
  (input: { status?: number; timeoutMs?: number; maxBytes?: number }) => string
> = {
  link_refused: ({ status }) =>
    `Together's image link no longer works (HTTP ${status}); its links expire after a short while. Try again. ` +
    'If it keeps happening, an admin can set image.response_format to base64 so images come inside the answer.',
  server: ({ status }) => `Together's image server answered HTTP ${status}. Try again shortly.`,
  timeout: ({ timeoutMs = 0 }) =>
    `the download took longer than ${timeoutMs < 1000 ? `${timeoutMs} ms` : `${Math.round(timeoutMs / 1000)} s`}. Try again shortly.`,
  unreachable: () => "Together's image server could not be reached. Try again shortly.",
  broken: () => 'the download broke off before the image was complete. Try again shortly.',
  too_large: ({ maxBytes = 0 }) =>
    `the image is larger than the bot's download limit of ${formatSize(maxBytes)} (together.download.max_bytes).`,
  not_image: () => 'the link returned something that is not a PNG, JPEG or WebP image.',
  bad_url: () => 'the link Together returned is not an https URL, so the bot did not fetch it.',
};

function formatSize(bytes: number): string {
  const mb = bytes / (1024 * 1024);
  return mb >= 1 ? `${Math.round(mb * 10) / 10} MB` : `${bytes} bytes`;
}

/** 403/404/410 from the CDN is an expired or revoked link; 5xx and 429 are the CDN's own trouble. */
export function downloadErrorFromResponse(
  status: number,
  headers: Readonly<Record<string, string>>,
  body: ProviderErrorBody,
): TogetherError {
  const detail = `HTTP ${status}${body.message ? `: ${body.message}` : ''}`;
  const problem = status === 403 || status === 404 || status === 410 ? 'link_refused' : 'server';
  return downloadError({ problem, status, headers, detail });
}
