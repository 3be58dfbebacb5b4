import type { AcceptedCommand, ChatRequest, FileFacts, SourceImage } from './requests.js';
import type { ChatModel, CoreSettings } from './settings.js';

/**
 * Pictures in `/ask`: which files a question may carry, to which chat presets, and what they cost. Together bills
 * an image to a vision model as input tokens: the image is cut into tiles of 560 pixels, at most 2 × 2, and each
 * tile is 1,601 tokens, so an image is 1,601, 3,202 or 6,404 tokens.
 * @see https://docs.together.ai/docs/inference/vision/overview
 */
export const TILE_PIXELS = 560;
export const TOKENS_PER_TILE = 1601;
const MAX_TILES_PER_SIDE = 2;
/** What an image of unknown size is counted as: the largest bill, 2 × 2 tiles. */
export const MAX_IMAGE_TOKENS = TOKENS_PER_TILE * MAX_TILES_PER_SIDE * MAX_TILES_PER_SIDE;

/** The limits when the settings give none (`chat.max_images`, `chat.max_image_mb`). */
export const DEFAULT_VISION_LIMITS = { maxImages: 4, maxImageMb: 20 } as const;

/** The file types Together's vision models read. */
const IMAGE_TYPES: Readonly<Record<string, string>> = {
  'image/png': 'png',
  'image/jpeg': 'jpeg',
  'image/jpg': 'jpeg',
  'image/webp': 'webp',
  'image/gif': 'gif',
};
const IMAGE_EXTENSIONS = /\.(png|jpe?g|webp|gif)$/i;

/** Said when a question is about pictures and the question itself is empty (a bare attachment). */
export const DEFAULT_IMAGE_QUESTION = 'What is in this picture?';

const MIB = 1024 * 1024;

/** The tokens Together bills for one image: its tiles when its size is known, else the most an image can be. */
export function imageTokens(size: Pick<FileFacts, 'width' | 'height'>): number {
  const { width, height } = size;
  if (!width || !height) return MAX_IMAGE_TOKENS;
  // 559 pixels or fewer is one tile; Together's table leaves exactly 560 open, so it counts as two (an upper bound).
  const tiles = (side: number) => (side < TILE_PIXELS ? 1 : MAX_TILES_PER_SIDE);
  return tiles(width) * tiles(height) * TOKENS_PER_TILE;
}

/** How many images a request carries and the tokens they are estimated at (tile rule). */
export function imagesTokens(images: readonly SourceImage[] | undefined): { count: number; tokens: number } {
  const list = images ?? [];
  return { count: list.length, tokens: list.reduce((sum, image) => sum + imageTokens(factsOf(image)), 0) };
}

function factsOf(image: SourceImage): FileFacts {
  return image.kind === 'result' ? {} : image;
}

/** The most images one question carries, its own and earlier turns' together. */
export function maxImages(settings: CoreSettings): number {
  return settings.chat.maxImages ?? DEFAULT_VISION_LIMITS.maxImages;
}

/** The largest file a question may attach, in bytes. */
export function maxImageBytes(settings: CoreSettings): number {
  return settings.chat.maxImageBytes ?? DEFAULT_VISION_LIMITS.maxImageMb * MIB;
}

/** The chat presets that read images (`vision: true`), by name. */
export function visionPresets(settings: CoreSettings): string[] {
  return Object.values(settings.chat.models)
    .filter((model) => model.vision)
    .map((model) => model.name);
}

/**
 * An accepted command with the files attached to the message added to its images: a question's after the links
 * it names; an image request's first (the picture being edited), then its `--image` links.
 */
export function withAttachments(
  command: AcceptedCommand,
  attached: readonly SourceImage[] | undefined,
): AcceptedCommand {
  if (!attached || attached.length === 0) return command;
  if (command.kind === 'flux') {
    const images = [...attached, ...(command.request.images ?? [])];
    return { ...command, request: { ...command.request, images } };
  }
  const images = [...(command.request.images ?? []), ...attached];
  return { ...command, request: { ...command.request, images } };
}

/**
 * Why files attached to a message cannot be used as pictures, as the person is told it, or undefined when they
 * can: each must be a picture of a type Together reads, within the size cap (`chat.max_image_mb`).
 */
export function filesRefusal(
  files: readonly SourceImage[] | undefined,
  settings: CoreSettings,
): string | undefined {
  for (const file of files ?? []) {
    const problem = fileProblem(factsOf(file), maxImageBytes(settings));
    if (problem) return `${problem} Nothing was queued.`;
  }
  return undefined;
}

/**
 * Why a question's own images cannot go to Together, as the person is told it, or undefined when they can (or
 * there are none). Checked before anything is queued or charged, in this order: each file is a picture of a type
 * Together reads, within the size cap; no more than the cap per question; the preset reads images.
 */
export function imagesRefusal(
  request: ChatRequest,
  settings: CoreSettings,
  where: { inConversation: boolean },
): string | undefined {
  const own = (request.images ?? []).slice(request.earlierImages ?? 0);
  if (own.length === 0) return undefined;
  const files = filesRefusal(own, settings);
  if (files) return files;
  const most = maxImages(settings);
  if (own.length > most) {
    return `This question carries ${own.length} pictures; lorabot sends at most ${most} with one question. Nothing was queued.`;
  }
  const model = settings.chat.models[request.model];
  if (!model || model.vision) return undefined;
  return `${presetProblem(model, settings, where.inConversation)} Nothing was queued.`;
}

function fileProblem(file: FileFacts, maxBytes: number): string | undefined {
  const name = file.name ? `\`${file.name.replaceAll('`', "'")}\`` : 'That file';
  const type = file.mimetype?.split(';')[0]?.trim().toLowerCase();
  const isImage = type ? type in IMAGE_TYPES : !file.name || IMAGE_EXTENSIONS.test(file.name);
  if (!isImage) {
    return `${name} is not a picture lorabot can read${type ? ` (${type})` : ''}: attach a PNG, JPEG, WebP or GIF image.`;
  }
  if (file.bytes !== undefined && file.bytes > maxBytes) {
    return `${name} is ${megabytes(file.bytes)} MB; a picture can be at most ${megabytes(maxBytes)} MB.`;
  }
  return undefined;
}

function presetProblem(model: ChatModel, settings: CoreSettings, inConversation: boolean): string {
  const presets = visionPresets(settings);
  if (presets.length === 0) {
    return (
      `The chat model \`${model.name}\` does not read pictures, and none of lorabot's chat models does. An admin ` +
      'can add one (a chat model with `vision: true`).'
    );
  }
  const example = `\`/ask --model ${presets[0]} <question>\``;
  const listed = `Models that read pictures: ${presets.join(', ')}.`;
  return inConversation
    ? `This conversation uses the chat model \`${model.name}\`, which does not read pictures. Ask about the picture in a new question with a model that does, e.g. ${example}. ${listed}`
    : `The chat model \`${model.name}\` does not read pictures. Ask again with one that does, e.g. ${example}. ${listed}`;
}

function megabytes(bytes: number): string {
  const value = bytes / MIB;
  return value >= 10 ? String(Math.round(value)) : value.toFixed(1).replace(/\.0$/, '');
}
