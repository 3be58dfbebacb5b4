import { type UserError, userError } from './lorabot-error.js';
import type { ImageRequest, SourceImage } from './requests.js';
import type { ImagePricing, ImageSettings } from './settings.js';
import { NO_PUBLIC_URL } from './source-images.js';

/** The model an image request runs on, its price, and the config key that chose it (named in admin messages). */
export interface ImageModelChoice {
  model: string;
  pricing: ImagePricing | null;
  setting: 'image.model' | 'image.edit.model';
}

/** Whether a request starts from images. */
export function hasSources(request: { images?: readonly SourceImage[] | undefined }): boolean {
  return (request.images?.length ?? 0) > 0;
}

/** A request with source images runs on the edit model (`image.edit`), any other on `image.model`. */
export function imageModelFor(
  request: { images?: readonly SourceImage[] | undefined },
  image: ImageSettings,
): ImageModelChoice {
  if (!hasSources(request)) return { model: image.model, pricing: image.pricing, setting: 'image.model' };
  return { model: image.edit.model, pricing: image.edit.pricing, setting: 'image.edit.model' };
}

/** The most source images the edit model takes: one through `image_url`, else the configured number. */
export function maxSourceImages(image: ImageSettings): number {
  return image.edit.input === 'image_url' ? 1 : image.edit.maxImages;
}

/**
 * What the edit model cannot take, checked before anything is queued: more images than it takes, or LoRAs when it
 * takes none. Undefined when the request fits (or has no source images).
 */
export function editProblem(
  request: Pick<ImageRequest, 'images' | 'loras'>,
  image: ImageSettings,
): UserError | undefined {
  const count = request.images?.length ?? 0;
  if (count === 0) return undefined;
  const { edit } = image;
  const max = maxSourceImages(image);
  if (count > max) {
    const takes = max === 1 ? 'one image' : `at most ${max} images`;
    return userError(
      'too_many_images',
      `The edit model (${edit.model}) takes ${takes} per request; you gave ${count}. Remove an \`--image\`.`,
    );
  }
  if (request.loras.length > 0 && !edit.loras) {
    return userError(
      'edit_without_loras',
      `The edit model (${edit.model}) does not take LoRAs, so \`--lora\` cannot be used with \`--image\`. ` +
        'Remove the `--lora`, or the `--image` to make an image from the prompt alone.',
    );
  }
  return undefined;
}

/**
 * Why these source images cannot reach Together, if they cannot: one that Together cannot fetch itself (anything
 * but a public link) while the bot can neither inline it nor link to it. Told before anything is queued.
 */
export function handOffRefusal(
  images: readonly SourceImage[] | undefined,
  image: ImageSettings,
): string | undefined {
  if (image.edit.handsOffSources || !images?.some((source) => source.kind !== 'link')) return undefined;
  return `${NO_PUBLIC_URL} Nothing was queued.`;
}
