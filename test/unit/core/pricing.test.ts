import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatUsd, usdToMicros } from '../../../src/core/money.js';
import {
  type ChatRates,
  chatRates,
  describeRates,
  estimateChat,
  listedTokenRates,
  priceChat,
  priceImage,
  sumMicros,
} from '../../../src/core/pricing.js';
import type { MegapixelPricing, PriceList, TokenPricing } from '../../../src/core/settings.js';

const decimalUp: MegapixelPricing = {
  kind: 'per-megapixel',
  microsPerMegapixel: 35_000,
  megapixelPixels: 1_000_000,
  rounding: 'up',
  stepScaling: null,
};
const binaryUp: MegapixelPricing = { ...decimalUp, megapixelPixels: 1_048_576 };
const model = 'black-forest-labs/FLUX.2-dev';
const configured: TokenPricing = {
  kind: 'per-token',
  inputMicrosPerMTokens: 180_000,
  outputMicrosPerMTokens: 180_000,
};
const rates: ChatRates = chatRates(configured, 'm', undefined);

describe('image pricing', () => {
  it('prices 1024×768, n=1 at $0.035 and n=4 at $0.14', () => {
    const one = priceImage({ width: 1024, height: 768, steps: 28, n: 1 }, decimalUp, model);
    expect(one).toEqual({ priced: true, micros: 35_000, text: 'Cost: $0.035 (1 image × 1 MP × $0.035/MP)' });
    const four = priceImage({ width: 1024, height: 768, steps: 28, n: 4 }, decimalUp, model);
    expect(four).toEqual({
      priced: true,
      micros: 140_000,
      text: 'Cost: $0.14 (4 images × 1 MP × $0.035/MP)',
    });
  });

  it('prices 1024×1024 under both megapixel definitions as configured', () => {
    const decimal = priceImage({ width: 1024, height: 1024, steps: 28, n: 1 }, decimalUp, model);
    expect(decimal.text).toBe('Cost: $0.07 (1 image × 2 MP × $0.035/MP)');
    const binary = priceImage({ width: 1024, height: 1024, steps: 28, n: 1 }, binaryUp, model);
    expect(binary.text).toBe('Cost: $0.035 (1 image × 1 MP × $0.035/MP)');
    const exact = priceImage(
      { width: 1024, height: 1024, steps: 28, n: 1 },
      { ...decimalUp, rounding: 'none' },
      model,
    );
    expect(exact.text).toBe('Cost: $0.036701 (1 image × 1.048576 MP × $0.035/MP)');
  });

  it('scales with steps when configured, as in Together’s published formula', () => {
    const scaled = priceImage(
      { width: 1000, height: 1000, steps: 14, n: 2 },
      { ...decimalUp, rounding: 'none', stepScaling: { defaultSteps: 28 } },
      model,
    );
    expect(scaled).toEqual({
      priced: true,
      micros: 35_000,
      text: 'Cost: $0.035 (2 images × 1 MP × $0.035/MP × 14/28 steps)',
    });
  });

  it('says so when no price is configured instead of guessing', () => {
    const cost = priceImage({ width: 1024, height: 768, steps: 28, n: 1 }, null, model);
    expect(cost).toEqual({
      priced: false,
      micros: 0,
      text: `Cost: unknown (no price is configured for ${model})`,
    });
  });
});

describe('dedicated endpoints', () => {
  const endpoint = 'acme/flux-lora-endpoint';

  it('prices images per image when the operator configured a price per image', () => {
    const cost = priceImage(
      { width: 1024, height: 1024, steps: 28, n: 3 },
      { kind: 'per-image', microsPerImage: 25_000 },
      endpoint,
    );
    expect(cost).toEqual({ priced: true, micros: 75_000, text: 'Cost: $0.075 (3 images × $0.025/image)' });
  });

  it('charges $0 per request on an endpoint billed per minute, and says why', () => {
    const image = priceImage(
      { width: 1024, height: 1024, steps: 28, n: 4 },
      { kind: 'per-minute' },
      endpoint,
    );
    expect(image).toEqual({
      priced: false,
      micros: 0,
      text: 'Cost: billed per minute of endpoint uptime (dedicated endpoint)',
    });
    const uptime = chatRates({ kind: 'per-minute' }, 'myendpoint:support-adapter', undefined);
    expect(priceChat({ promptTokens: 500, completionTokens: 500 }, uptime)).toEqual(image);
    const estimate = estimateChat({ messages: ['hi'], maxTokens: 100 }, uptime);
    expect(estimate).toMatchObject({ micros: 0, text: image.text });
    expect(describeRates(uptime)).toBe('billed per minute of endpoint uptime (dedicated endpoint)');
  });
});

describe('prices from Together’s list (pricing: auto)', () => {
  const list = (entries: Record<string, { inputMicrosPerMTokens: number; outputMicrosPerMTokens: number }>) =>
    ({ tokenRates: (id: string) => entries[id] }) satisfies PriceList;

  it('prices an answer at the rates Together lists for the model', () => {
    const prices = list({
      'acme/model': { inputMicrosPerMTokens: 600_000, outputMicrosPerMTokens: 1_200_000 },
    });
    const resolved = chatRates({ kind: 'auto' }, 'acme/model', prices);
    expect(resolved).toEqual({
      kind: 'per-token',
      rates: { inputMicrosPerMTokens: 600_000, outputMicrosPerMTokens: 1_200_000 },
      listed: true,
    });
    // 1000 × $0.60/M + 500 × $1.20/M = $0.0012
    expect(priceChat({ promptTokens: 1000, completionTokens: 500 }, resolved).text).toBe(
      'Cost: $0.0012 (1,000 in + 500 out tokens)',
    );
    expect(describeRates(resolved)).toBe("$0.60 in / $1.20 out per 1M tokens (Together's price list)");
  });

  it('says the price is unknown when Together lists none, or the list is not loaded, never a guess', () => {
    for (const prices of [list({}), undefined]) {
      const resolved = chatRates({ kind: 'auto' }, 'acme/unlisted', prices);
      expect(priceChat({ promptTokens: 10, completionTokens: 10 }, resolved)).toEqual({
        priced: false,
        micros: 0,
        text: 'Cost: unknown (Together lists no price for acme/unlisted)',
      });
      expect(estimateChat({ messages: ['hi'], maxTokens: 10 }, resolved).micros).toBe(0);
      expect(describeRates(resolved)).toBe('price unknown (Together lists no price for acme/unlisted)');
    }
  });

  it('reads Together’s listed input and output as USD per 1M tokens; 0 or absent is no price', () => {
    expect(listedTokenRates({ input: 0.18, output: 0.59, hourly: 0, base: 0, finetune: 0 })).toEqual({
      inputMicrosPerMTokens: 180_000,
      outputMicrosPerMTokens: 590_000,
    });
    expect(listedTokenRates({ input: 0, output: 0 })).toBeUndefined();
    expect(listedTokenRates({ input: 0.2 })).toBeUndefined();
    expect(listedTokenRates({ input: 0.2, output: 0 })).toBeUndefined();
    expect(listedTokenRates(undefined)).toBeUndefined();
    // Finer than a micro-dollar per 1M tokens rounds up, never down to free.
    expect(listedTokenRates({ input: 0.0000001, output: 0.1234567 })).toEqual({
      inputMicrosPerMTokens: 1,
      outputMicrosPerMTokens: 123_457,
    });
  });

  it('keeps configured rates apart from listed ones', () => {
    expect(describeRates(rates)).toBe('$0.18 in / $0.18 out per 1M tokens');
    expect(describeRates(chatRates(null, 'acme/x', undefined))).toBe(
      'price unknown (no price is configured for acme/x)',
    );
  });
});

describe('chat pricing', () => {
  it('prices 123 prompt + 177 completion tokens at $0.18/M each as $0.000054', () => {
    const cost = priceChat({ promptTokens: 123, completionTokens: 177 }, rates);
    expect(cost).toEqual({ priced: true, micros: 54, text: 'Cost: $0.000054 (123 in + 177 out tokens)' });
  });

  it('rounds a fraction of a micro-dollar up, once per request', () => {
    const cost = priceChat({ promptTokens: 1, completionTokens: 0 }, rates);
    expect(cost.micros).toBe(1);
  });

  it('marks estimated token counts, in the text and on the cost', () => {
    const cost = priceChat({ promptTokens: 10, completionTokens: 1200, estimated: true }, rates);
    expect(cost).toMatchObject({ micros: 218, estimated: true });
    expect(cost.text).toBe(
      'Cost: ~$0.000218 (estimated: 10 in + 1,200 out tokens, the provider reported no usage)',
    );
  });

  it('says why an answer was cut short, whether its counts are estimated or reported', () => {
    const estimated = priceChat(
      { promptTokens: 120, completionTokens: 35, estimated: true },
      rates,
      'answer cancelled',
    );
    expect(estimated.text).toBe('Cost: ~$0.000028 (estimated: 120 in + 35 out tokens, answer cancelled)');
    const reported = priceChat({ promptTokens: 120, completionTokens: 35 }, rates, 'answer cancelled');
    expect(reported).toEqual({
      priced: true,
      micros: 28,
      text: 'Cost: $0.000028 (120 in + 35 out tokens, answer cancelled)',
    });
  });

  it('estimates an upper bound from max_tokens and the prompt bytes', () => {
    const estimate = estimateChat({ messages: ['héllo'], maxTokens: 1000 }, rates);
    // 6 UTF-8 bytes + 16 template tokens in, 1000 out, at $0.18/M: ceil(1022 × 0.18) µ$
    expect(estimate.promptTokens).toBe(22);
    expect(estimate.micros).toBe(184);
    expect(estimate.text).toBe('Cost: at most $0.000184 (up to 22 in + 1,000 out tokens)');
  });
});

describe('money', () => {
  it('formats with 2 to 6 decimals, never in scientific notation', () => {
    expect(formatUsd(0)).toBe('0.00');
    expect(formatUsd(1)).toBe('0.000001');
    expect(formatUsd(54)).toBe('0.000054');
    expect(formatUsd(35_000)).toBe('0.035');
    expect(formatUsd(140_000)).toBe('0.14');
    expect(formatUsd(1_000_000)).toBe('1.00');
    expect(formatUsd(123_456_789_012)).toBe('123456.789012');
  });

  it('converts config prices exactly and refuses more than 6 decimals', () => {
    expect(usdToMicros(0.035)).toBe(35_000);
    expect(usdToMicros(0.18)).toBe(180_000);
    expect(usdToMicros(0.1 + 0.2)).toBe(300_000);
    expect(usdToMicros(0.0000001)).toBeUndefined();
    expect(usdToMicros(-1)).toBeUndefined();
    expect(usdToMicros(Number.NaN)).toBeUndefined();
  });

  it('does not drift over 10,000 summed charges', () => {
    const charges = Array.from(
      { length: 10_000 },
      () => priceChat({ promptTokens: 123, completionTokens: 177 }, rates).micros,
    );
    expect(sumMicros(charges)).toBe(540_000);
    expect(formatUsd(sumMicros(charges))).toBe('0.54');
    // The same sum in floating-point dollars drifts: the reason money is counted in integers.
    expect(charges.reduce((sum, m) => sum + m / 1e6, 0)).not.toBe(0.54);
  });

  it('formats any amount as a decimal that reads back to the same micros', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (micros) => {
        const text = formatUsd(micros);
        expect(text).toMatch(/^\d+\.\d{2,6}$/);
        const [whole, fraction] = text.split('.') as [string, string];
        expect(BigInt(whole) * 1_000_000n + BigInt(fraction.padEnd(6, '0'))).toBe(BigInt(micros));
      }),
    );
  });
});
