import type { RawFile } from 'discord.js';
import type { NamedImage } from '../../core/image-files.js';
import { GALLERY_LIMIT } from './discord-gallery.js';

/**
 * A job's images as Discord files: which can be attached where the job was asked (the interaction's
 * `attachment_size_limit`), and how they are grouped into requests.
 * @see https://discord.com/developers/docs/reference#uploading-files
 */

/** "The maximum request size when sending a message is 25 MiB." */
const REQUEST_LIMIT = 25 * 1024 * 1024;

/** The images small enough to attach here, as files, and a line for each one that is not. */
export function attachable(
  images: ReadonlyArray<NamedImage>,
  limit: number,
): { files: RawFile[]; refused: string[] } {
  const files: RawFile[] = [];
  const refused: string[] = [];
  images.forEach((image, i) => {
    if (image.bytes.length > limit) {
      refused.push(
        `Image ${i + 1} is ${formatBytes(image.bytes.length)}, over the ${formatBytes(limit)} upload limit here, so it could not be attached.`,
      );
    } else {
      files.push({ name: image.fileName, data: Buffer.from(image.bytes), contentType: image.mimeType });
    }
  });
  return { files, refused };
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${Math.ceil(bytes / 1024)} KiB`;
}

/** Groups files so that each request stays under Discord's 25 MiB request limit (and 10 attachments, a gallery's most). */
export function batches(files: RawFile[]): RawFile[][] {
  const result: RawFile[][] = [];
  let current: RawFile[] = [];
  let size = 0;
  for (const file of files) {
    const length = (file.data as Buffer).length;
    if (
      current.length > 0 &&
      (size + length > REQUEST_LIMIT - 64 * 1024 || current.length === GALLERY_LIMIT)
    ) {
      result.push(current);
      current = [];
      size = 0;
    }
    current.push(file);
    size += length;
  }
  if (current.length > 0) result.push(current);
  return result;
}
