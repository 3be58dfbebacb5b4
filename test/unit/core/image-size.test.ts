import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../../src/core/command-parser.js';
import {
  billedMegapixels,
  cheaperSize,
  defaultSizeWarning,
  largestSizeForRatio,
  sizeForAspect,
} from '../../../src/core/image-size.js';
import { priceImage } from '../../../src/core/pricing.js';
import type { CoreSettings, ImageSettings, MegapixelPricing } from '../../../src/core/settings.js';
import { testSettings } from '../../helpers/settings.js';

const builtIn = testSettings();
/** The rule the README's Cost table is written for: $0.035 per decimal megapixel, rounded up. */
const defaultRule: MegapixelPricing = {
  kind: 'per-megapixel',
  microsPerMegapixel: 35_000,
  megapixelPixels: 1_000_000,
  rounding: 'up',
  stepScaling: null,
};
const settings: CoreSettings = {
  ...builtIn,
  image: { ...builtIn.image, defaults: { width: 1000, height: 1000, steps: 28, n: 1 }, pricing: defaultRule },
};

/** What a user types after `/flux a cat`, the size it gets, its cost line, and the hint when there is one. */
const table: Array<{ options: string; size: string; cost: string; hint?: string }> = [
  { options: '', size: '1000x1000', cost: '$0.035 (1 image × 1 MP × $0.035/MP)' },
  { options: '--ar 1:1', size: '1000x1000', cost: '$0.035 (1 image × 1 MP × $0.035/MP)' },
  { options: '--ar 4:3', size: '1152x864', cost: '$0.035 (1 image × 1 MP × $0.035/MP)' },
  { options: '--ar 3:4', size: '864x1152', cost: '$0.035 (1 image × 1 MP × $0.035/MP)' },
  { options: '--ar 3:2', size: '1224x816', cost: '$0.035 (1 image × 1 MP × $0.035/MP)' },
  { options: '--ar 2:3', size: '816x1224', cost: '$0.035 (1 image × 1 MP × $0.035/MP)' },
  { options: '--ar 16:9', size: '1328x744', cost: '$0.035 (1 image × 1 MP × $0.035/MP)' },
  { options: '--ar 9:16', size: '744x1328', cost: '$0.035 (1 image × 1 MP × $0.035/MP)' },
  { options: '--ar 21:9', size: '1520x648', cost: '$0.035 (1 image × 1 MP × $0.035/MP)' },
  { options: '--ar 9:21', size: '648x1520', cost: '$0.035 (1 image × 1 MP × $0.035/MP)' },
  { options: '--ar 5:4', size: '1112x888', cost: '$0.035 (1 image × 1 MP × $0.035/MP)' },
  { options: '--ar 2:1', size: '1408x704', cost: '$0.035 (1 image × 1 MP × $0.035/MP)' },
  { options: '--ar 7:1', size: '1920x272', cost: '$0.035 (1 image × 1 MP × $0.035/MP)' },
  { options: '--size 512x512', size: '512x512', cost: '$0.035 (1 image × 1 MP × $0.035/MP)' },
  { options: '--size 1024x768', size: '1024x768', cost: '$0.035 (1 image × 1 MP × $0.035/MP)' },
  { options: '--size 1000x1000', size: '1000x1000', cost: '$0.035 (1 image × 1 MP × $0.035/MP)' },
  {
    options: '--size 1024x1024',
    size: '1024x1024',
    cost: '$0.07 (1 image × 2 MP × $0.035/MP)',
    hint: '1024x1024 is billed as 2 MP; 1000x1000 costs $0.035 instead of $0.07.',
  },
  {
    options: '--size 1024x1024 --n 2',
    size: '1024x1024',
    cost: '$0.14 (2 images × 2 MP × $0.035/MP)',
    hint: '1024x1024 is billed as 2 MP; 1000x1000 costs $0.07 instead of $0.14.',
  },
  {
    options: '--size 1920x1080',
    size: '1920x1080',
    cost: '$0.105 (1 image × 3 MP × $0.035/MP)',
    hint: '1920x1080 is billed as 3 MP; 1880x1056 costs $0.07 instead of $0.105.',
  },
  {
    options: '--size 1080x1920',
    size: '1080x1920',
    cost: '$0.105 (1 image × 3 MP × $0.035/MP)',
    hint: '1080x1920 is billed as 3 MP; 1056x1880 costs $0.07 instead of $0.105.',
  },
  // 11 % past 1 MP: worth the extra megapixel, so no hint.
  { options: '--size 1112x1000', size: '1112x1000', cost: '$0.07 (1 image × 2 MP × $0.035/MP)' },
  { options: '--size 1408x1408', size: '1408x1408', cost: '$0.07 (1 image × 2 MP × $0.035/MP)' },
  { options: '--size 1920x1920', size: '1920x1920', cost: '$0.14 (1 image × 4 MP × $0.035/MP)' },
];

describe('sizes and their prices under the default rule', () => {
  it.each(table)('/flux a cat $options → $size, $cost', ({ options, size, cost, hint }) => {
    const parsed = parseCommand('flux', `a cat ${options}`, settings);
    if (!parsed.success || parsed.data.kind !== 'flux') throw new Error(`not accepted: ${options}`);
    const { request, notices } = parsed.data;
    expect(`${request.width}x${request.height}`).toBe(size);
    expect(priceImage(request, settings.image.pricing, settings.image.model).text).toBe(`Cost: ${cost}`);
    expect(notices).toEqual(hint ? [hint] : []);
  });

  it('has the built-in default size exactly on a whole megapixel, equal to what --ar 1:1 picks', () => {
    const { defaults, pricing } = builtIn.image;
    expect({ width: defaults.width, height: defaults.height }).toEqual({ width: 1000, height: 1000 });
    expect(sizeForAspect({ width: 1, height: 1 }, builtIn.image)).toEqual({ width: 1000, height: 1000 });
    expect(pricing).toMatchObject({ kind: 'per-megapixel', rounding: 'up' });
    expect(defaults.width * defaults.height).toBe(
      billedMegapixels(defaults, pricing)! * (pricing as MegapixelPricing).megapixelPixels,
    );
  });

  it('refuses a ratio no size within the side bounds can have, naming the bounds', () => {
    const parsed = parseCommand('flux', 'a cat --ar 8:1', settings);
    expect(parsed).toMatchObject({ success: false, error: { code: 'ar_out_of_bounds' } });
    if (!parsed.success) expect(parsed.error.message).toContain('256–1920 pixels per side');
  });

  it('keeps the default area without whole-megapixel billing', () => {
    for (const pricing of [null, { ...defaultRule, rounding: 'none' as const }]) {
      const image: ImageSettings = {
        ...settings.image,
        defaults: { ...settings.image.defaults, width: 1024, height: 1024 },
        pricing,
      };
      expect(sizeForAspect({ width: 1, height: 1 }, image)).toEqual({ width: 1024, height: 1024 });
      expect(sizeForAspect({ width: 16, height: 9 }, image)).toEqual({ width: 1360, height: 768 });
      expect(cheaperSize({ width: 1024, height: 1024 }, image)).toBeUndefined();
    }
  });

  it('warns about a configured default size just past a megapixel, and only then', () => {
    const withDefault = (width: number, height: number) => ({
      ...settings.image,
      defaults: { ...settings.image.defaults, width, height },
    });
    expect(defaultSizeWarning(withDefault(1024, 1024))).toBe(
      'image.defaults: 1024x1024 is billed as 2 MP; 1000x1000 costs $0.035 instead of $0.07. ' +
        'Every /flux without --size or --ar pays this.',
    );
    expect(defaultSizeWarning(withDefault(1000, 1000))).toBeUndefined();
    expect(defaultSizeWarning(withDefault(1112, 1000))).toBeUndefined();
    expect(defaultSizeWarning({ ...withDefault(1024, 1024), pricing: null })).toBeUndefined();
  });

  it('lets --ar use every megapixel a larger configured default is billed for', () => {
    const image = { ...settings.image, defaults: { ...settings.image.defaults, width: 1024, height: 1024 } };
    const square = sizeForAspect({ width: 1, height: 1 }, image)!;
    expect(square).toEqual({ width: 1408, height: 1408 });
    expect(billedMegapixels(square, defaultRule)).toBe(2);
  });
});

/** Valid image settings: bounds, a default size inside them, and a whole-megapixel rule. */
const imageSettings = fc
  .record({
    sideMultiple: fc.constantFrom(8, 16, 32, 64),
    min: fc.integer({ min: 64, max: 512 }),
    span: fc.integer({ min: 256, max: 2048 }),
    megapixelPixels: fc.constantFrom(1_000_000, 1_048_576),
    defaultWidth: fc.integer({ min: 0, max: 4096 }),
    defaultHeight: fc.integer({ min: 0, max: 4096 }),
  })
  .map(({ sideMultiple: m, min, span, megapixelPixels, defaultWidth, defaultHeight }): ImageSettings => {
    const lowest = Math.ceil(min / m) * m;
    const highest = Math.floor((min + span) / m) * m;
    const pick = (value: number) => lowest + ((Math.floor(value / m) * m) % (highest - lowest + m));
    return {
      ...settings.image,
      defaults: { ...settings.image.defaults, width: pick(defaultWidth), height: pick(defaultHeight) },
      bounds: { ...settings.image.bounds, side: { min, max: min + span }, sideMultiple: m },
      pricing: { ...defaultRule, megapixelPixels },
    };
  });
const ratio = fc.record({
  width: fc.integer({ min: 1, max: 9999 }),
  height: fc.integer({ min: 1, max: 9999 }),
});

describe('size properties', () => {
  it('never bills an --ar size for more megapixels than the default size', () => {
    fc.assert(
      fc.property(imageSettings, ratio, (image, r) => {
        const size = sizeForAspect(r, image);
        if (!size) return;
        expect(billedMegapixels(size, image.pricing)!).toBeLessThanOrEqual(
          billedMegapixels(image.defaults, image.pricing)!,
        );
        for (const side of [size.width, size.height]) {
          expect(side % image.bounds.sideMultiple).toBe(0);
          expect(side).toBeGreaterThanOrEqual(image.bounds.side.min);
          expect(side).toBeLessThanOrEqual(image.bounds.side.max);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('picks every --ar ratio within the built-in bounds, within the default megapixel', () => {
    fc.assert(
      fc.property(ratio, (r) => {
        const parsed = parseCommand('flux', `a cat --ar ${r.width}:${r.height}`, settings);
        const elongation = Math.max(r.width, r.height) / Math.min(r.width, r.height);
        if (elongation <= 7.5) expect(parsed.success).toBe(true);
        if (!parsed.success || parsed.data.kind !== 'flux') return;
        expect(priceImage(parsed.data.request, defaultRule, 'm').micros).toBe(35_000);
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps the ratio as closely as the side multiple allows, takes the largest such size, and mirrors', () => {
    fc.assert(
      fc.property(imageSettings, ratio, fc.integer({ min: 100_000, max: 4_000_000 }), (image, r, maxArea) => {
        const size = largestSizeForRatio(r, maxArea, image.bounds);
        expect(largestSizeForRatio({ width: r.height, height: r.width }, maxArea, image.bounds)).toEqual(
          size && { width: size.height, height: size.width },
        );
        if (!size) return;
        const m = image.bounds.sideMultiple;
        const landscape = r.width >= r.height;
        const [long, short] = landscape ? [size.width, size.height] : [size.height, size.width];
        const exactShort = (long * Math.min(r.width, r.height)) / Math.max(r.width, r.height);
        expect(Math.abs(short - exactShort)).toBeLessThanOrEqual(m / 2);
        expect(long * short).toBeLessThanOrEqual(maxArea);
        // One step up the long side no longer fits: over the area, over the bound, or off the ratio.
        const next = long + m;
        const [rl, rs] = [Math.max(r.width, r.height), Math.min(r.width, r.height)];
        // The short side nearest the exact ratio, in integers so that halves do not wobble.
        const nextShort = Math.floor((2 * next * rs + rl * m) / (2 * rl * m)) * m;
        const fits =
          next <= image.bounds.side.max && nextShort <= image.bounds.side.max && next * nextShort <= maxArea;
        expect(fits).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('hints only at a size just past a megapixel, with one billed megapixel less', () => {
    fc.assert(
      fc.property(imageSettings, fc.nat(4096), fc.nat(4096), (image, w, h) => {
        const m = image.bounds.sideMultiple;
        const { min, max } = image.bounds.side;
        const size = {
          width: Math.min(max, Math.max(min, Math.ceil(w / m) * m)),
          height: Math.min(max, Math.max(min, Math.ceil(h / m) * m)),
        };
        const smaller = cheaperSize(size, image);
        const billed = billedMegapixels(size, image.pricing)!;
        const boundary = (billed - 1) * (image.pricing as MegapixelPricing).megapixelPixels;
        const justPast = billed >= 2 && size.width * size.height < boundary * 1.1;
        if (!justPast) expect(smaller).toBeUndefined();
        if (!smaller) return;
        expect(billedMegapixels(smaller, image.pricing)).toBe(billed - 1);
        expect(smaller.width % m).toBe(0);
        expect(smaller.height % m).toBe(0);
      }),
      { numRuns: 2000 },
    );
  });
});
