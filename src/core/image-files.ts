/** File extensions for the image types Together returns. */
const EXTENSIONS: Readonly<Record<string, string>> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/webp': 'webp',
};

/** An image ready to upload: its bytes, its type (sniffed from the bytes) and the name it is uploaded under. */
export interface NamedImage {
  bytes: Uint8Array;
  mimeType: string;
  fileName: string;
}

/**
 * The name an image is uploaded (or saved) under, on every platform: `lorabot-<seed>.jpg`, or
 * `lorabot-<seed>-<n>.png` when one request made several. The extension follows the bytes, so it matches
 * `image.output_format`. Without a seed the end of the job id stands in.
 */
export function imageFileName(input: {
  mimeType: string;
  seed: number | undefined;
  jobId: string;
  index: number;
  count: number;
}): string {
  const stem = input.seed !== undefined ? String(input.seed) : input.jobId.slice(-12).replace(/[^\w-]/g, '');
  const suffix = input.count > 1 ? `-${input.index + 1}` : '';
  return `lorabot-${stem}${suffix}.${EXTENSIONS[input.mimeType] ?? 'png'}`;
}
