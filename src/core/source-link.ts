import { type UserError, userError } from './lorabot-error.js';
import type { SourceImage } from './requests.js';
import { err, ok, type Result } from './result.js';

/**
 * The longest `--image` link accepted. Signed CDN links (a Discord attachment's `?ex=…&is=…&hm=…`, an S3 link)
 * stay well under it; 2,048 is what browsers, proxies and CDNs reliably pass on, and a longer one is more likely a
 * pasted data blob than a link.
 */
export const MAX_IMAGE_LINK_CHARS = 2048;

/**
 * `--image <https url>`: a link Together downloads the source image from, so the same rules as a LoRA link apply:
 * https only, no user name or password, at most `MAX_IMAGE_LINK_CHARS`. Slack's wrapping (`<https://…>`,
 * `<https://…|label>`) and its `&amp;` / `&lt;` / `&gt;` are undone here too, so a link pasted from a Slack
 * message's source reads the same as one typed.
 */
export function parseImageLink(raw: string): Result<SourceImage, UserError> {
  const value = unwrapSlackLink(raw);
  if ([...value].length > MAX_IMAGE_LINK_CHARS) {
    return err(
      userError(
        'image_link_too_long',
        `The --image link is ${[...value].length.toLocaleString('en-US')} characters; the limit is ` +
          `${MAX_IMAGE_LINK_CHARS.toLocaleString('en-US')}. Use a shorter link to the image.`,
      ),
    );
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return err(
      userError(
        'image_link_invalid',
        `\`${value}\` is not a link. Give \`--image\` an https link to a JPEG, PNG or WebP image.`,
      ),
    );
  }
  if (url.protocol !== 'https:') {
    return err(
      userError(
        'image_link_not_https',
        `Image links must use https: \`${value}\` starts with \`${url.protocol}//\`. Use the https:// link instead.`,
      ),
    );
  }
  if (url.username || url.password) {
    return err(
      userError(
        'image_link_credentials',
        'Image links must not contain a user name or password (`https://user:pass@…`): Together would see them. ' +
          'Use a link that opens without logging in.',
      ),
    );
  }
  return ok({ kind: 'link', url: url.href });
}

/** Undoes Slack's link wrapping and its three entities; anything else is left as it is. */
function unwrapSlackLink(raw: string): string {
  const wrapped = /^<([^<>|]+)(?:\|[^<>]*)?>$/.exec(raw.trim());
  const inner = wrapped ? wrapped[1]! : raw.trim();
  return inner.replace(/&(amp|lt|gt);/g, (_, name: string) => ({ amp: '&', lt: '<', gt: '>' })[name] ?? _);
}

/**
 * Why an `--image` link will not do, found by looking at it once before anything is queued (the link probe):
 * Together would fail on it after the job started, so the person is told now, privately, at no cost.
 */
export type LinkProblem =
  | { kind: 'timeout'; ms: number }
  | { kind: 'status'; status: number }
  | { kind: 'private' }
  | { kind: 'not-image'; contentType: string }
  | { kind: 'redirects'; max: number }
  | { kind: 'unreachable'; reason: string };

/** Hosts whose links are known to work: Discord attachments, which the platform itself handed over. */
const KNOWN_GOOD_HOSTS = new Set(['cdn.discordapp.com', 'media.discordapp.net']);

/** The `--image` links among `images` that are looked at before queueing: typed links, not Discord attachments. */
export function linksToProbe(images: readonly SourceImage[] | undefined): string[] {
  return (images ?? []).flatMap((source) =>
    source.kind === 'link' && !KNOWN_GOOD_HOSTS.has(new URL(source.url).hostname) ? [source.url] : [],
  );
}

/** The private answer for a link the probe refused; every one ends with what was (not) done. */
export function linkProblemText(url: string, problem: LinkProblem): string {
  const link = `The image link \`${url}\``;
  const after = ' Nothing was queued or charged.';
  switch (problem.kind) {
    case 'timeout':
      return `${link} did not answer within ${formatSeconds(problem.ms)}, so Together could not read it either. Check that it opens in a browser, or use another link.${after}`;
    case 'status':
      return `${link} answered with HTTP ${problem.status}${statusHint(problem.status)}. Check that it opens in a browser without logging in, or use another link.${after}`;
    case 'private':
      return `${link} points to a private or local address; lorabot does not fetch links to private addresses. Use a public https link to the image.${after}`;
    case 'not-image':
      return `${link} opens a page (${problem.contentType}), not an image. Use the link to the image itself (in a browser: right-click the image, Copy image address).${after}`;
    case 'redirects':
      return `${link} redirects more than ${problem.max} times. Use the link it finally leads to.${after}`;
    case 'unreachable':
      return `${link} could not be reached (${problem.reason}). Check the link, or use another one.${after}`;
  }
}

function formatSeconds(ms: number): string {
  const seconds = ms / 1000;
  return `${Number.isInteger(seconds) ? seconds : seconds.toFixed(1)} s`;
}

function statusHint(status: number): string {
  if (status === 404 || status === 410) return ' (not found)';
  if (status === 401 || status === 403) return ' (it needs a login or is not public)';
  if (status >= 500) return ' (the server failed)';
  return '';
}
