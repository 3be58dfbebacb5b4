import type { Message } from 'discord.js';
import type { SourceImage } from '../../core/requests.js';

/** File names Discord shows as images, for attachments that come without a content type. */
const IMAGE_NAME = /\.(png|jpe?g|webp|gif)$/i;

/**
 * A message's image attachments as sources: their links, which Discord keeps readable for a while (signed CDN
 * links), so Together reads them directly. Other attachments (text, video) are left out.
 * @see https://discord.com/developers/docs/resources/message#attachment-object
 */
export function attachedImages(message: Pick<Message, 'attachments'>): SourceImage[] {
  return [...message.attachments.values()]
    .filter((a) => (a.contentType ? a.contentType.startsWith('image/') : IMAGE_NAME.test(a.name)))
    .map((a) => ({ kind: 'link' as const, url: a.url }));
}
