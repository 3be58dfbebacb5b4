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
