import { ceilDiv, formatUsd, type Micros, toMicros } from './money.js';
import type { ChatPricing, ImagePricing } from './settings.js';

/** A priced result: `micros` is the charge, `text` the cost line users see. */
export type Cost =
  | { priced: true; micros: Micros; text: string }
  | { priced: false; micros: 0; text: string };

export interface ImageDimensions {
  width: number;
  height: number;
  steps: number;
  n: number;
}

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  /** True when the provider reported no usage and the counts were estimated. */
  estimated?: boolean;
}

/** Chat templates add a few tokens per message (role markers, separators); generous on purpose. */
const TEMPLATE_TOKENS_PER_MESSAGE = 16;

function count(value: number): string {
  return value.toLocaleString('en-US');
}

function plural(value: number, one: string, many: string): string {
  return `${count(value)} ${value === 1 ? one : many}`;
}

/**
 * Prices an image request: per image, megapixels × price, with the megapixel size, rounding and step scaling from
 * config; the total is rounded up to a whole micro-dollar once.
 */
export function priceImage(request: ImageDimensions, pricing: ImagePricing | null, model: string): Cost {
  if (!pricing) return unpriced(model);
  const pixels = BigInt(request.width * request.height);
  const mpSize = BigInt(pricing.megapixelPixels);
  let numerator: bigint;
  let denominator: bigint;
  let megapixels: string;
  if (pricing.rounding === 'up') {
    const whole = ceilDiv(pixels, mpSize);
    numerator = BigInt(request.n) * whole * BigInt(pricing.microsPerMegapixel);
    denominator = 1n;
    megapixels = String(whole);
  } else {
    numerator = BigInt(request.n) * pixels * BigInt(pricing.microsPerMegapixel);
    denominator = mpSize;
    megapixels = trimDecimal(pixels, mpSize);
  }
  let stepsText = '';
  if (pricing.stepScaling) {
    numerator *= BigInt(request.steps);
    denominator *= BigInt(pricing.stepScaling.defaultSteps);
    stepsText = ` × ${request.steps}/${pricing.stepScaling.defaultSteps} steps`;
  }
  const micros = toMicros(ceilDiv(numerator, denominator));
  const breakdown = `${plural(request.n, 'image', 'images')} × ${megapixels} MP × $${formatUsd(pricing.microsPerMegapixel)}/MP${stepsText}`;
  return { priced: true, micros, text: `Cost: $${formatUsd(micros)} (${breakdown})` };
}

/** Prices a chat completion from the provider's token counts. */
export function priceChat(usage: TokenUsage, pricing: ChatPricing | null, model: string): Cost {
  if (!pricing) return unpriced(model);
  const micros = chatMicros(usage.promptTokens, usage.completionTokens, pricing);
  const approx = usage.estimated ? '~' : '';
  const note = usage.estimated ? ', estimated: the provider reported no usage' : '';
  return {
    priced: true,
    micros,
    text: `Cost: $${formatUsd(micros)} (${approx}${count(usage.promptTokens)} in + ${count(usage.completionTokens)} out tokens${note})`,
  };
}

/**
 * The most a chat request can cost, for budgets: every prompt byte counted as a token (a byte-level BPE never
 * needs more) plus template overhead, and the whole `max_tokens` as output.
 */
export function estimateChat(
  input: { messages: readonly string[]; maxTokens: number },
  pricing: ChatPricing | null,
  model: string,
): Cost & { promptTokens: number } {
  const encoder = new TextEncoder();
  const promptTokens = input.messages.reduce(
    (sum, message) => sum + encoder.encode(message).length + TEMPLATE_TOKENS_PER_MESSAGE,
    0,
  );
  if (!pricing) return { ...unpriced(model), promptTokens };
  const micros = chatMicros(promptTokens, input.maxTokens, pricing);
  return {
    priced: true,
    micros,
    promptTokens,
    text: `Cost: at most $${formatUsd(micros)} (up to ${count(promptTokens)} in + ${count(input.maxTokens)} out tokens)`,
  };
}

function chatMicros(promptTokens: number, completionTokens: number, pricing: ChatPricing): Micros {
  const numerator =
    BigInt(promptTokens) * BigInt(pricing.inputMicrosPerMTokens) +
    BigInt(completionTokens) * BigInt(pricing.outputMicrosPerMTokens);
  return toMicros(ceilDiv(numerator, 1_000_000n));
}

function unpriced(model: string): { priced: false; micros: 0; text: string } {
  return { priced: false, micros: 0, text: `Cost: unknown (no price is configured for ${model})` };
}

/** `a / b` as a decimal string with at most 6 places, rounded up, trailing zeros removed. */
function trimDecimal(a: bigint, b: bigint): string {
  const scaled = ceilDiv(a * 1_000_000n, b);
  const whole = scaled / 1_000_000n;
  const fraction = String(scaled % 1_000_000n)
    .padStart(6, '0')
    .replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : String(whole);
}

/** Sums charges exactly. */
export function sumMicros(values: Iterable<Micros>): Micros {
  let total = 0n;
  for (const value of values) total += BigInt(value);
  return toMicros(total);
}
