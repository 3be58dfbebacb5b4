import type { ProviderErrorBody } from './error-body.js';

/** The body fields that carry source images. @see https://docs.together.ai/docs/inference/images/reference-images */
const SOURCE_FIELDS = ['image_url', 'reference_images'] as const;
type SourceField = (typeof SOURCE_FIELDS)[number];

const NAMES_SOURCE = /image_url|reference_images|(input|source|reference) images?\b/i;
const UNSUPPORTED =
  /not (supported|allowed|accepted)|unsupported|does not (support|accept|take)|unknown (parameter|field)/i;

/**
 * Which refusal of a source image a 4xx of an image call is, if any: the edit model does not take the field the
 * body used (`source_input_unsupported`, an operator's setting), or Together could not use the image itself:
 * unreadable, not an image, too large (`source_image_rejected`, which the requester can fix).
 */
export function classifySourceRefusal(
  status: number,
  body: ProviderErrorBody,
): { code: 'source_input_unsupported'; field: SourceField } | { code: 'source_image_rejected' } | undefined {
  if (status < 400 || status >= 500 || status === 429) return undefined;
  const text = body.message ?? '';
  const param = SOURCE_FIELDS.find((field) => field === body.param);
  if (!param && !NAMES_SOURCE.test(text) && status !== 413) return undefined;
  if (UNSUPPORTED.test(text)) {
    const field = param ?? SOURCE_FIELDS.find((f) => text.includes(f));
    if (field) return { code: 'source_input_unsupported', field };
  }
  return { code: 'source_image_rejected' };
}

/** The messages for a refused source image: what Together said, and what the requester or an admin can change. */
export function sourceRefusalMessage(
  refusal: NonNullable<ReturnType<typeof classifySourceRefusal>>,
  context: { model: string | undefined; said: string },
): { userMessage: string; fix: string } {
  const model = context.model ? `\`${context.model}\`` : 'the edit model';
  if (refusal.code === 'source_image_rejected') {
    return {
      userMessage:
        `Together could not use the source image${context.said}. Check that each --image link opens a JPEG, PNG ` +
        'or WebP image without logging in and is not too large (a smaller or JPEG version helps), then try again.',
      fix: 'the source image was unreadable or too large for Together: nothing to change in the config',
    };
  }
  const other = refusal.field === 'image_url' ? 'reference_images' : 'image_url';
  return {
    userMessage:
      `The edit model ${model} does not take source images as ${refusal.field}${context.said}. An admin can set ` +
      `image.edit.input to ${other}, or image.edit.model to a model that takes ${refusal.field}.`,
    fix: `image.edit.input (${refusal.field}) does not suit image.edit.model (${context.model ?? 'unset'}): try ${other}`,
  };
}
