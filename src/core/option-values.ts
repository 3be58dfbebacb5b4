import type { Place } from './access.js';
import type { FlagToken } from './command-tokens.js';
import { sizeForAspect } from './image-size.js';
import { looksLikeUrl, parseLoraUrl } from './lora-ref.js';
import { type UserError, userError } from './lorabot-error.js';
import { presetAllowedAt, presetsAt } from './presets.js';
import type { LoraSpec } from './requests.js';
import { err, ok, type Result } from './result.js';
import type { CoreSettings, Range } from './settings.js';

/** The values of command options, each checked against the settings with a message that says what to type. */

/** An option given without its value, with an example of one. */
export function missingValue(flag: FlagToken): UserError {
  const examples: Record<string, string> = {
    lora: '--lora tarot@0.8',
    size: '--size 1024x768',
    ar: '--ar 16:9',
    steps: '--steps 28',
    n: '--n 2',
    seed: '--seed 42',
    model: '--model default',
    image: '--image https://example.com/photo.jpg',
  };
  return userError(
    'missing_value',
    `\`${flag.raw}\` needs a value, e.g. \`${examples[flag.name] ?? flag.raw}\`.`,
  );
}

/** A whole number within `range`, for `--steps`, `--n` and `--seed`. */
export function parseInteger(flag: FlagToken, range: Range): Result<number, UserError> {
  const value = flag.value ?? '';
  if (!/^\d{1,12}$/.test(value)) {
    return err(
      userError(
        'not_an_integer',
        `\`--${flag.name} ${value}\` is not a whole number; use one from ${range.min} to ${range.max}.`,
      ),
    );
  }
  const number = Number(value);
  if (number < range.min || number > range.max) {
    return err(
      userError(
        'out_of_range',
        `\`--${flag.name} ${value}\` is out of range; use ${range.min} to ${range.max}.`,
      ),
    );
  }
  return ok(number);
}

const SCALE = /^[+-]?(\d{1,3}(\.\d{1,3})?|\.\d{1,3})$/;

/** `--lora <preset or URL>[@<scale>]`: a preset allowed at `place`, or a link Together accepts. */
export function parseLora(
  value: string,
  settings: CoreSettings,
  place: Place | undefined,
): Result<{ spec: LoraSpec; notice?: string }, UserError> {
  let ref = value;
  let scaleText: string | undefined;
  const at = value.lastIndexOf('@');
  if (at > 0 && !value.slice(at + 1).includes('/')) {
    ref = value.slice(0, at);
    scaleText = value.slice(at + 1);
  }
  let scale: number | undefined;
  if (scaleText !== undefined) {
    const { min, max } = settings.image.bounds.loraScale;
    if (!SCALE.test(scaleText)) {
      return err(
        userError(
          'lora_scale_invalid',
          `\`${scaleText}\` in \`${value}\` is not a LoRA scale; write e.g. \`@0.8\`.`,
        ),
      );
    }
    scale = Number(scaleText);
    if (scale < min || scale > max) {
      return err(
        userError(
          'lora_scale_out_of_range',
          `The LoRA scale \`${scaleText}\` in \`${value}\` is out of range; use ${min} to ${max}.`,
        ),
      );
    }
  }
  if (looksLikeUrl(ref)) {
    const url = parseLoraUrl(ref);
    if (!url.success) return url;
    const spec: LoraSpec = { path: url.data.url, scale: scale ?? 1 };
    return ok(url.data.notice ? { spec, notice: url.data.notice } : { spec });
  }
  const preset = settings.loras[ref.toLowerCase()];
  const names = presetsAt(settings, place).map((p) => p.name);
  const here = place && names.length < Object.keys(settings.loras).length ? ' for this channel' : '';
  const list = names.length ? `Presets${here}: ${names.join(', ')}.` : `No presets are configured${here}.`;
  if (!preset) {
    return err(
      userError(
        'unknown_lora_preset',
        `Unknown LoRA preset \`${ref}\`. ${list} Or give an https link to a LoRA.`,
      ),
    );
  }
  if (!presetAllowedAt(preset, place)) {
    return err(
      userError(
        'lora_preset_not_here',
        `The LoRA preset \`${preset.name}\` is not available in this channel. ${list} Or give an https link to a LoRA.`,
      ),
    );
  }
  const spec: LoraSpec = { path: preset.url, scale: scale ?? preset.scale, preset: preset.name };
  if (preset.trigger) spec.trigger = preset.trigger;
  return ok({ spec });
}

/** `--size <W>x<H>`, each side within the bounds and a multiple of the side step. */
export function parseSize(
  value: string,
  settings: CoreSettings,
): Result<{ width: number; height: number }, UserError> {
  const match = /^(\d{1,6})[x×X*](\d{1,6})$/u.exec(value);
  if (!match) {
    return err(
      userError(
        'size_invalid',
        `\`--size ${value}\` is not a size; write width x height, e.g. \`--size 1024x768\`.`,
      ),
    );
  }
  const width = Number(match[1]);
  const height = Number(match[2]);
  const problem = checkSide(width, 'width', settings) ?? checkSide(height, 'height', settings);
  if (problem) return err(userError('size_out_of_bounds', `\`--size ${value}\`: ${problem}`));
  return ok({ width, height });
}

function checkSide(side: number, what: string, settings: CoreSettings): string | undefined {
  const { side: range, sideMultiple } = settings.image.bounds;
  if (side < range.min || side > range.max) {
    return `the ${what} ${side} is out of range; use ${range.min} to ${range.max} pixels.`;
  }
  if (side % sideMultiple !== 0) {
    const lower = Math.max(range.min, side - (side % sideMultiple));
    return `the ${what} ${side} is not a multiple of ${sideMultiple}; try ${lower}.`;
  }
  return undefined;
}

/** `--ar <W>:<H>`: the size of that shape the configured defaults allow. */
export function parseAspect(
  value: string,
  settings: CoreSettings,
): Result<{ width: number; height: number }, UserError> {
  const match = /^(\d{1,4}):(\d{1,4})$/.exec(value);
  const width = Number(match?.[1] ?? 0);
  const height = Number(match?.[2] ?? 0);
  if (!match || width === 0 || height === 0) {
    return err(
      userError('ar_invalid', `\`--ar ${value}\` is not an aspect ratio; write it like \`--ar 16:9\`.`),
    );
  }
  const size = sizeForAspect({ width, height }, settings.image);
  if (!size) {
    const { side, sideMultiple } = settings.image.bounds;
    return err(
      userError(
        'ar_out_of_bounds',
        `\`--ar ${value}\` does not fit in ${side.min}–${side.max} pixels per side (multiples of ${sideMultiple}). ` +
          'Pick a ratio closer to square, or give `--size`.',
      ),
    );
  }
  return ok(size);
}
