import { parseLoraUrl } from '../core/lora-ref.js';
import { usdToMicros } from '../core/money.js';
import type { ChatModel, ChatPricing, CoreSettings, ImagePricing, LoraPreset } from '../core/settings.js';
import type { FileSettings } from './schema.js';

/** Adds one problem about a config key; `where` names the file it came from. */
type AddProblem = (key: string, message: string) => void;

/**
 * The checked file's settings as the core takes them, after the checks no schema can express (defaults inside the
 * bounds, the default model among the models, preset URLs Together accepts). Problems go to `problems`; undefined
 * when there were any.
 */
export function buildCoreSettings(
  f: FileSettings,
  where: string,
  problems: string[],
): CoreSettings | undefined {
  const start = problems.length;
  const add: AddProblem = (key, message) => problems.push(`${key}${where}: ${message}`);
  checkImageSettings(f.image, add);
  const models = chatModels(f.chat.models);
  const defaultModel = f.chat.default_model.toLowerCase();
  if (!models[defaultModel]) {
    add(
      'chat.default_model',
      `"${f.chat.default_model}" is not one of chat.models (${Object.keys(models).join(', ') || 'none'})`,
    );
  }
  const loras = loraPresets(f, add);
  if (problems.length > start) return undefined;

  const b = f.image.bounds;
  return {
    image: {
      model: f.image.model,
      defaults: { ...f.image.defaults },
      bounds: {
        side: { min: b.min_side, max: b.max_side },
        sideMultiple: b.side_multiple,
        steps: { ...b.steps },
        n: { ...b.n },
        loraScale: { ...b.lora_scale },
        maxPromptChars: b.max_prompt_chars,
      },
      responseFormat: f.image.response_format,
      outputFormat: f.image.output_format,
      pricing: toImagePricing(f.image.pricing),
      edit: {
        model: f.image.edit.model,
        input: f.image.edit.input,
        maxImages: f.image.edit.max_images,
        loras: f.image.edit.loras,
        pricing: toImagePricing(f.image.edit.pricing),
        handsOffSources: f.sources.image_as === 'data_url' || Boolean(f.gateway.public_url),
      },
    },
    chat: {
      defaultModel,
      models,
      maxQuestionChars: f.chat.max_question_chars,
      maxImages: f.chat.max_images,
      maxImageBytes: Math.round(f.chat.max_image_mb * 1024 * 1024),
    },
    loras,
  };
}

/** Bounds that are ranges, and defaults that fall inside them. */
function checkImageSettings(image: FileSettings['image'], add: AddProblem): void {
  const b = image.bounds;
  const d = image.defaults;
  if (b.min_side > b.max_side) add('image.bounds.min_side', 'must not be larger than image.bounds.max_side');
  for (const name of ['steps', 'n', 'lora_scale'] as const) {
    if (b[name].min > b[name].max) add(`image.bounds.${name}`, 'min must not be larger than max');
  }
  for (const side of ['width', 'height'] as const) {
    const v = d[side];
    if (v < b.min_side || v > b.max_side || v % b.side_multiple !== 0) {
      add(
        `image.defaults.${side}`,
        `expected a multiple of ${b.side_multiple} from ${b.min_side} to ${b.max_side}, got ${v}`,
      );
    }
  }
  if (d.steps < b.steps.min || d.steps > b.steps.max)
    add('image.defaults.steps', `expected ${b.steps.min} to ${b.steps.max}`);
  if (d.n < b.n.min || d.n > b.n.max) add('image.defaults.n', `expected ${b.n.min} to ${b.n.max}`);
  if (image.edit.input === 'image_url' && image.edit.max_images > 1) {
    add(
      'image.edit.max_images',
      'image_url carries one image: set max_images: 1, or input: reference_images for a model that takes several',
    );
  }
}

/** Chat presets by lower-case name. */
function chatModels(models: FileSettings['chat']['models']): Record<string, ChatModel> {
  const result: Record<string, ChatModel> = {};
  for (const [name, m] of Object.entries(models)) {
    const model: ChatModel = {
      name: name.toLowerCase(),
      id: m.id,
      maxTokens: m.max_tokens,
      pricing: toChatPricing(m.pricing),
    };
    if (m.system_prompt) model.systemPrompt = m.system_prompt;
    if (m.description) model.description = m.description;
    if (m.vision) model.vision = true;
    result[model.name] = model;
  }
  return result;
}

/** LoRA presets by lower-case name, each URL one Together accepts and each scale inside the bounds. */
function loraPresets(f: FileSettings, add: AddProblem): Record<string, LoraPreset> {
  const scaleBounds = f.image.bounds.lora_scale;
  const result: Record<string, LoraPreset> = {};
  for (const [name, l] of Object.entries(f.loras)) {
    const url = parseLoraUrl(l.url);
    if (!url.success) add(`loras.${name}.url`, url.error.message.replaceAll('`', ''));
    if (l.scale < scaleBounds.min || l.scale > scaleBounds.max) {
      add(`loras.${name}.scale`, `expected ${scaleBounds.min} to ${scaleBounds.max}, got ${l.scale}`);
    }
    const preset: LoraPreset = {
      name: name.toLowerCase(),
      url: url.success ? url.data.url : l.url,
      scale: l.scale,
    };
    if (l.trigger) preset.trigger = l.trigger;
    if (l.description) preset.description = l.description;
    if (l.channels && l.channels.length > 0) preset.channels = l.channels;
    result[preset.name] = preset;
  }
  return result;
}

function toImagePricing(p: FileSettings['image']['pricing']): ImagePricing | null {
  if (!p) return null;
  if ('billed' in p) return { kind: 'per-minute' };
  if ('usd_per_image' in p) return { kind: 'per-image', microsPerImage: usdToMicros(p.usd_per_image)! };
  return {
    kind: 'per-megapixel',
    microsPerMegapixel: usdToMicros(p.usd_per_megapixel)!,
    megapixelPixels: p.megapixel_pixels,
    rounding: p.rounding,
    stepScaling: p.step_scaling_default_steps ? { defaultSteps: p.step_scaling_default_steps } : null,
  };
}

function toChatPricing(p: FileSettings['chat']['models'][string]['pricing']): ChatPricing | null {
  if (!p) return null;
  if (p === 'auto') return { kind: 'auto' };
  if ('billed' in p) return { kind: 'per-minute' };
  return {
    kind: 'per-token',
    inputMicrosPerMTokens: usdToMicros(p.input_usd_per_m_tokens)!,
    outputMicrosPerMTokens: usdToMicros(p.output_usd_per_m_tokens)!,
  };
}
