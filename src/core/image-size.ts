import { formatUsd } from './money.js';
import { priceImage } from './pricing.js';
import type { ImagePricing, ImageSettings } from './settings.js';

/**
 * Image sizes and what they are billed for. A size whose area lies just past a whole megapixel is billed for the
 * next one (1024×1024 is 1.05 decimal MP, billed as 2), so sizes lorabot picks stay within the megapixels the
 * default size is billed for, and a size given by hand that just crosses a boundary earns a hint.
 */
export interface ImageSize {
  width: number;
  height: number;
}

/** A size past a megapixel boundary by less than this share of the boundary gets a hint (1024×1024: 4.9 %). */
const HINT_MARGIN_PERCENT = 10;

/**
 * The whole megapixels one image of `size` is billed for, or undefined when the pricing rule does not round up to
 * whole megapixels (no price, or `rounding: none`).
 */
export function billedMegapixels(size: ImageSize, pricing: ImagePricing | null): number | undefined {
  const unit = wholeMegapixel(pricing);
  return unit === undefined ? undefined : Math.ceil((size.width * size.height) / unit);
}

/** The pixels in a billed megapixel when `pricing` bills whole megapixels, rounded up; otherwise undefined. */
function wholeMegapixel(pricing: ImagePricing | null): number | undefined {
  return pricing?.kind === 'per-megapixel' && pricing.rounding === 'up' ? pricing.megapixelPixels : undefined;
}

/**
 * The largest size with the aspect ratio `ratioWidth:ratioHeight` whose sides are multiples of `sideMultiple`
 * within the side bounds and whose area is at most `maxArea`, or undefined when none exists. The long side steps
 * by the multiple and the short side is the multiple nearest to the exact ratio, so the ratio is kept as closely
 * as the multiple allows and swapping the ratio swaps the size.
 */
export function largestSizeForRatio(
  ratio: { width: number; height: number },
  maxArea: number,
  bounds: ImageSettings['bounds'],
): ImageSize | undefined {
  const m = bounds.sideMultiple;
  const landscape = ratio.width >= ratio.height;
  const long = landscape ? ratio.width : ratio.height;
  const short = landscape ? ratio.height : ratio.width;
  const lowest = Math.ceil(bounds.side.min / m) * m;
  // The short side grows with the long one, so the area does too: the first size that fits from the top wins.
  for (let longSide = Math.floor(bounds.side.max / m) * m; longSide >= lowest; longSide -= m) {
    // round(longSide × short / long / m) × m in integers, halves rounded up.
    const shortSide = Math.floor((2 * longSide * short + long * m) / (2 * long * m)) * m;
    if (shortSide < bounds.side.min) return undefined;
    if (shortSide > bounds.side.max || longSide * shortSide > maxArea) continue;
    return landscape ? { width: longSide, height: shortSide } : { width: shortSide, height: longSide };
  }
  return undefined;
}

/**
 * The size `--ar W:H` stands for: the largest with that ratio that is billed for no more megapixels than the
 * default size. Without whole-megapixel billing, the largest whose area is at most the default size's.
 */
export function sizeForAspect(
  ratio: { width: number; height: number },
  image: ImageSettings,
): ImageSize | undefined {
  const { defaults, pricing } = image;
  const billed = billedMegapixels(defaults, pricing);
  const unit = wholeMegapixel(pricing);
  const maxArea =
    billed !== undefined && unit !== undefined ? billed * unit : defaults.width * defaults.height;
  return largestSizeForRatio(ratio, maxArea, image.bounds);
}

/**
 * When `size` crosses a megapixel boundary by less than 10 %, the nearest size (same ratio as closely as the side
 * multiple allows) that is billed one megapixel less; otherwise undefined.
 */
export function cheaperSize(size: ImageSize, image: ImageSettings): ImageSize | undefined {
  const billed = billedMegapixels(size, image.pricing);
  const unit = wholeMegapixel(image.pricing);
  if (billed === undefined || billed < 2 || unit === undefined) return undefined;
  const boundary = (billed - 1) * unit;
  const area = size.width * size.height;
  if (area * 100 >= boundary * (100 + HINT_MARGIN_PERCENT)) return undefined;
  return largestSizeForRatio(size, boundary, image.bounds);
}

/**
 * The one-line hint for an image request whose size just crosses a megapixel boundary, e.g.
 * "1024x1024 is billed as 2 MP; 1000x1000 costs $0.035 instead of $0.07.", or undefined when there is none.
 * The prices are the whole request's (every image, steps included), as its cost line shows them.
 */
export function sizeHint(
  request: ImageSize & { steps: number; n: number },
  image: ImageSettings,
): string | undefined {
  const smaller = cheaperSize(request, image);
  if (!smaller) return undefined;
  const now = priceImage(request, image.pricing, image.model);
  const then = priceImage({ ...request, ...smaller }, image.pricing, image.model);
  if (!now.priced || !then.priced || then.micros >= now.micros) return undefined;
  const billed = billedMegapixels(request, image.pricing);
  return (
    `${request.width}x${request.height} is billed as ${billed} MP; ` +
    `${smaller.width}x${smaller.height} costs $${formatUsd(then.micros)} instead of $${formatUsd(now.micros)}.`
  );
}

/**
 * A start-up warning when the configured default size just crosses a megapixel boundary, so that every `/flux`
 * without `--size` pays for a megapixel it barely uses; undefined when it does not.
 */
export function defaultSizeWarning(image: ImageSettings): string | undefined {
  const hint = sizeHint(image.defaults, image);
  return hint && `image.defaults: ${hint} Every /flux without --size or --ar pays this.`;
}
