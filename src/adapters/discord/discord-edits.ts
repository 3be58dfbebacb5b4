import type { Message } from 'discord.js';
import type { SourceImage } from '../../core/requests.js';

/** An attachment as a source: its link, and what Discord says of it. */
type LinkedFile = Extract<SourceImage, { kind: 'link' }>;

/** File names Discord shows as images, for attachments that come without a content type. */
const IMAGE_NAME = /\.(png|jpe?g|webp|gif)$/i;

/**
 * A message's attachments as sources, with what Discord says of each (name, size, type, dimensions) for the
 * checks of `/ask` pictures and their estimate: their links, which Discord keeps readable for a while (signed CDN
 * links), so Together reads them directly.
 * @see https://discord.com/developers/docs/resources/message#attachment-object
 */
export function attachedFiles(message: Pick<Message, 'attachments'>): LinkedFile[] {
  return [...message.attachments.values()].map(
    (file): LinkedFile => ({
      kind: 'link',
      url: file.url,
      name: file.name,
      bytes: file.size,
      ...(file.contentType ? { mimetype: file.contentType } : {}),
      ...(file.width && file.height ? { width: file.width, height: file.height } : {}),
    }),
  );
}

/**
 * A message's image attachments only (Edit with lorabot), with what Discord says of each (checked before the
 * editor opens): other attachments (text, video) are left out.
 */
export function attachedImages(message: Pick<Message, 'attachments'>): SourceImage[] {
  return attachedFiles(message).filter((file) =>
    file.mimetype ? file.mimetype.startsWith('image/') : IMAGE_NAME.test(file.name ?? ''),
  );
}
