import { createHash } from 'node:crypto';

/**
 * How the fake Together treats source images (`image_url`, `reference_images`) on `POST /v1/images/generations`,
 * by model, as Together's image-to-image page documents them (checked 2026-12-01): `image_url` carries one image
 * for FLUX.1 Kontext [pro]/[max] and FLUX.2 [pro]/[flex]; `reference_images` an array for FLUX.2 [pro]/[dev]/[flex]
 * ("FLUX.2 [dev] … only support reference_images"). Counts follow Black Forest Labs' FLUX.2 page (8 through the API
 * for [pro]/[flex], 6 recommended for [dev]). Together publishes neither the wording of these refusals nor a size
 * limit: the fake answers in Together's error envelope (`{"error":{"message","type","param","code"}}`) with words of
 * its own, and refuses a data URL over `maxSourceBytes`.
 * @see https://docs.together.ai/docs/inference/images/reference-images
 */
export interface EditModelRules {
  input: 'image_url' | 'reference_images' | 'both';
  maxImages: number;
  /** Whether the model takes `image_loras` along with source images. */
  loras: boolean;
}

export const TOGETHER_EDIT_MODELS: Readonly<Record<string, EditModelRules>> = {
  'black-forest-labs/FLUX.2-dev': { input: 'reference_images', maxImages: 6, loras: true },
  'black-forest-labs/FLUX.2-pro': { input: 'both', maxImages: 8, loras: false },
  'black-forest-labs/FLUX.2-flex': { input: 'both', maxImages: 8, loras: false },
  'black-forest-labs/FLUX.1-kontext-pro': { input: 'image_url', maxImages: 1, loras: false },
  'black-forest-labs/FLUX.1-kontext-max': { input: 'image_url', maxImages: 1, loras: false },
};

/** What the fake does with a source link a test marked: Together could not fetch it, or it was too large. */
export type SourceFault = 'unreadable' | 'too-large';

/** A refusal in Together's shape: the HTTP status and the `error` object's fields. */
export interface EditRefusal {
  status: number;
  message: string;
  param: string | null;
}

/** The fake's default size limit for one source image (data URLs; links marked `too-large` stand for others). */
export const DEFAULT_MAX_SOURCE_BYTES = 10 * 1024 * 1024;

export interface EditBody {
  model: string;
  image_url?: string;
  reference_images?: string[];
  image_loras?: unknown[];
}

/** The source images of a body, in order: `image_url` first, then `reference_images`. */
export function sourcesOf(body: EditBody): string[] {
  return [...(body.image_url !== undefined ? [body.image_url] : []), ...(body.reference_images ?? [])];
}

/** Why Together would refuse the body's source images, or undefined when it takes them. */
export function editRefusal(
  body: EditBody,
  options: { faults: ReadonlyMap<string, SourceFault>; maxSourceBytes: number },
): EditRefusal | undefined {
  const sources = sourcesOf(body);
  if (sources.length === 0) return undefined;
  const rules = TOGETHER_EDIT_MODELS[body.model];
  const field = body.image_url !== undefined ? 'image_url' : 'reference_images';
  if (!rules || (rules.input !== 'both' && rules.input !== field)) {
    return { status: 400, message: `${field} is not supported for model ${body.model}`, param: field };
  }
  if (body.image_url !== undefined && body.reference_images !== undefined) {
    return {
      status: 400,
      message: 'Give either image_url or reference_images, not both',
      param: 'image_url',
    };
  }
  if (sources.length > rules.maxImages) {
    return {
      status: 400,
      message: `${field} accepts at most ${rules.maxImages} images for model ${body.model}`,
      param: field,
    };
  }
  if ((body.image_loras?.length ?? 0) > 0 && !rules.loras) {
    return { status: 400, message: 'image_loras is not supported', param: 'image_loras' };
  }
  for (const source of sources) {
    const problem = sourceProblem(source, options);
    if (problem) return { status: 400, message: problem, param: field };
  }
  return undefined;
}

function sourceProblem(
  source: string,
  options: { faults: ReadonlyMap<string, SourceFault>; maxSourceBytes: number },
): string | undefined {
  const data = /^data:image\/(png|jpeg|webp);base64,([A-Za-z0-9+/=]+)$/.exec(source);
  if (data) {
    const bytes = Buffer.from(data[2]!, 'base64').length;
    return bytes > options.maxSourceBytes
      ? `Input image is too large: ${bytes} bytes, the limit is ${options.maxSourceBytes}`
      : undefined;
  }
  if (!/^https:\/\/[^\s/@]+\/\S*$/.test(source)) return `Invalid image URL: ${source.slice(0, 80)}`;
  const fault = options.faults.get(source);
  if (fault === 'unreadable') return `Failed to download image from URL ${source}: HTTP 404`;
  if (fault === 'too-large') return `Input image is too large: ${source}`;
  return undefined;
}

/**
 * A number derived from the source images, which the fake adds to the seed of the image it renders, so that a test
 * can tell from the bytes which sources Together was given (`renderImage` with `seed + sourceTint(sources)`).
 */
export function sourceTint(sources: readonly string[]): number {
  if (sources.length === 0) return 0;
  return createHash('sha256').update(sources.join('\n')).digest().readUInt16BE(0) + 1;
}
