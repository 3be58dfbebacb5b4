import { imageModelFor } from './edit-model.js';
import type { ChatContentPart, ChatMessage } from './ports.js';
import { effectivePrompt, type ImageRequest, sourceInBody } from './requests.js';
import type { ChatModel, ImageSettings } from './settings.js';

/**
 * The exact JSON bodies Together receives. Pure, so `lorabot run --dry-run` can print what would be sent.
 * @see https://docs.together.ai/reference/post-images-generations
 * @see https://docs.together.ai/reference/chat-completions-1
 */
export interface ImageGenerationBody {
  model: string;
  prompt: string;
  width: number;
  height: number;
  steps: number;
  n: number;
  seed?: number;
  response_format: 'base64' | 'url';
  output_format: 'jpeg' | 'png';
  image_loras?: Array<{ path: string; scale: number }>;
  /** The one source image, for edit models that take `image_url` (FLUX.1 Kontext, FLUX.2 pro/flex). */
  image_url?: string;
  /** The source images, for edit models that take `reference_images` (FLUX.2 pro/dev/flex). */
  reference_images?: string[];
}

/**
 * The body for an image request. With source images it goes to the edit model, carrying them as that model takes
 * them: each a link as itself or a marker the worker resolves (`sourceInBody`). The parser has already checked
 * the count and LoRAs against the edit model (`editProblem`).
 * @see https://docs.together.ai/docs/inference/images/reference-images
 */
export function buildImageBody(request: ImageRequest, image: ImageSettings): ImageGenerationBody {
  const body: ImageGenerationBody = {
    model: imageModelFor(request, image).model,
    prompt: effectivePrompt(request),
    width: request.width,
    height: request.height,
    steps: request.steps,
    n: request.n,
    response_format: image.responseFormat,
    output_format: image.outputFormat,
  };
  if (request.seed !== undefined) body.seed = request.seed;
  if (request.loras.length > 0) body.image_loras = request.loras.map(({ path, scale }) => ({ path, scale }));
  const sources = (request.images ?? []).map(sourceInBody);
  if (sources.length > 0 && image.edit.input === 'image_url') body.image_url = sources[0]!;
  else if (sources.length > 0) body.reference_images = sources;
  return body;
}

export interface ChatCompletionBody {
  model: string;
  messages: ChatMessage[];
  max_tokens: number;
  stream?: boolean;
}

/**
 * A chat body: the model's system prompt, earlier turns (oldest first), then the question. A question with
 * `images` (each a link or a source marker, see `sourceInBody`) becomes content parts: its text, then each image.
 * @see https://docs.together.ai/docs/inference/vision/overview
 */
export function buildChatBody(
  question: string,
  model: ChatModel,
  options: { history?: readonly ChatMessage[]; stream?: boolean; images?: readonly string[] } = {},
): ChatCompletionBody {
  const messages: ChatMessage[] = [];
  if (model.systemPrompt) messages.push({ role: 'system', content: model.systemPrompt });
  messages.push(...(options.history ?? []), {
    role: 'user',
    content: withImageParts(question, options.images),
  });
  const body: ChatCompletionBody = { model: model.id, messages, max_tokens: model.maxTokens };
  if (options.stream) body.stream = true;
  return body;
}

/** The text of a message's content (its text parts, for a message with images). */
export function contentText(content: string | readonly ChatContentPart[]): string {
  if (typeof content === 'string') return content;
  return content.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('\n');
}

/** A message's content: the text alone, or the text then one `image_url` part per image. */
export function withImageParts(text: string, images: readonly string[] = []): string | ChatContentPart[] {
  if (images.length === 0) return text;
  return [
    { type: 'text', text },
    ...images.map((url): ChatContentPart => ({ type: 'image_url', image_url: { url } })),
  ];
}
