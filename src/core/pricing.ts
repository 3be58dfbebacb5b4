import { ceilDiv, formatUsd, type Micros, toMicros } from './money.js';
import type { ChatPricing, ImagePricing, MegapixelPricing, PriceList, TokenRates } from './settings.js';

/** A priced result: `micros` is the charge, `text` the cost line users see. */
export type Cost =
  | { priced: true; micros: Micros; text: string; estimated?: boolean }
  | { priced: false; micros: 0; text: string; estimated?: boolean };

export interface ImageDimensions {
  width: number;
  height: number;
  steps: number;
  n: number;
}

export interface TokenUsage {
  /** Every input token, images' included (as Together reports `prompt_tokens`). */
  promptTokens: number;
  completionTokens: number;
  /** The images among the input and their share of `promptTokens`, shown apart in the cost line. */
  images?: ImageTokens;
  /** True when the provider reported no usage and the counts were estimated. */
  estimated?: boolean;
}

/** How many images a request carries and how many of its input tokens they are (the tile rule's count). */
export interface ImageTokens {
  count: number;
  tokens: number;
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
 * Prices an image request under the configured rule: per image, megapixels × price (with the megapixel size,
 * rounding and step scaling from config), a fixed price per image, or nothing per request on a dedicated endpoint
 * billed per minute. The total is rounded up to a whole micro-dollar once.
 */
export function priceImage(request: ImageDimensions, pricing: ImagePricing | null, model: string): Cost {
  if (!pricing) return unpriced(model);
  if (pricing.kind === 'per-minute') return UPTIME_BILLED;
  if (pricing.kind === 'per-image') {
    const micros = toMicros(BigInt(request.n) * BigInt(pricing.microsPerImage));
    const breakdown = `${plural(request.n, 'image', 'images')} × $${formatUsd(pricing.microsPerImage)}/image`;
    return { priced: true, micros, text: `Cost: $${formatUsd(micros)} (${breakdown})` };
  }
  return priceMegapixels(request, pricing);
}

function priceMegapixels(request: ImageDimensions, pricing: MegapixelPricing): Cost {
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

/**
 * What an answer is priced at, once the model's rule is resolved: token rates (from config, or from Together's
 * list for `auto`), per minute of a dedicated endpoint, or unknown, with the reason the cost line gives.
 */
export type ChatRates =
  | { kind: 'per-token'; rates: TokenRates; listed: boolean }
  | { kind: 'per-minute' }
  | { kind: 'unknown'; reason: string };

/**
 * Resolves a chat model's price rule. `auto` takes the rates Together lists for the model id; a model Together
 * lists without a price (or not at all, or before the list is loaded) is unknown, never guessed.
 */
export function chatRates(
  pricing: ChatPricing | null,
  modelId: string,
  prices: PriceList | undefined,
): ChatRates {
  if (!pricing) return { kind: 'unknown', reason: `no price is configured for ${modelId}` };
  if (pricing.kind === 'per-minute') return { kind: 'per-minute' };
  if (pricing.kind === 'per-token') return { kind: 'per-token', rates: pricing, listed: false };
  const listed = prices?.tokenRates(modelId);
  return listed
    ? { kind: 'per-token', rates: listed, listed: true }
    : { kind: 'unknown', reason: `Together lists no price for ${modelId}` };
}

/**
 * Prices a chat completion from the provider's token counts, or from counts estimated from the text (marked `~` and
 * `estimated:`). `note` says why the answer is incomplete (`answer cancelled`); an estimate without one says the
 * provider reported no usage.
 */
export function priceChat(usage: TokenUsage, rates: ChatRates, note?: string): Cost {
  if (rates.kind === 'unknown') return unknownCost(rates.reason);
  if (rates.kind === 'per-minute') return UPTIME_BILLED;
  const micros = chatMicros(usage.promptTokens, usage.completionTokens, rates.rates);
  const tokens = `${imagesPart(usage.images)}${count(usage.promptTokens - imageShare(usage))} in + ${count(usage.completionTokens)} out tokens`;
  if (usage.estimated) {
    const why = note ?? 'the provider reported no usage';
    return {
      priced: true,
      micros,
      estimated: true,
      text: `Cost: ~$${formatUsd(micros)} (estimated: ${tokens}, ${why})`,
    };
  }
  return { priced: true, micros, text: `Cost: $${formatUsd(micros)} (${tokens}${note ? `, ${note}` : ''})` };
}

/** `1 image ≈ 1,601 tokens + ` for a request with images; empty without. */
function imagesPart(images: ImageTokens | undefined): string {
  if (!images || images.count === 0) return '';
  return `${plural(images.count, 'image', 'images')} ≈ ${count(images.tokens)} tokens + `;
}

/** The images' share of the input: the tile rule's count, never more than the input reported. */
function imageShare(usage: TokenUsage): number {
  return Math.min(usage.images?.tokens ?? 0, usage.promptTokens);
}

/**
 * The most a chat request can cost, for budgets: every prompt byte counted as a token (a byte-level BPE never
 * needs more) plus template overhead, each image at its tile count (the most when its size is unknown), and the
 * whole `max_tokens` as output.
 */
export function estimateChat(
  input: { messages: readonly string[]; maxTokens: number; images?: ImageTokens },
  rates: ChatRates,
): Cost & { promptTokens: number } {
  const encoder = new TextEncoder();
  const textTokens = input.messages.reduce(
    (sum, message) => sum + encoder.encode(message).length + TEMPLATE_TOKENS_PER_MESSAGE,
    0,
  );
  const promptTokens = textTokens + (input.images?.tokens ?? 0);
  if (rates.kind === 'unknown') return { ...unknownCost(rates.reason), promptTokens };
  if (rates.kind === 'per-minute') return { ...UPTIME_BILLED, promptTokens };
  const micros = chatMicros(promptTokens, input.maxTokens, rates.rates);
  return {
    priced: true,
    micros,
    promptTokens,
    text: `Cost: at most $${formatUsd(micros)} (${imagesPart(input.images)}up to ${count(textTokens)} in + ${count(input.maxTokens)} out tokens)`,
  };
}

/** How `/ask models` shows a price: the rates per 1M tokens, or why there are none. */
export function describeRates(rates: ChatRates): string {
  if (rates.kind === 'unknown') return `price unknown (${rates.reason})`;
  if (rates.kind === 'per-minute') return UPTIME_NOTE;
  const { inputMicrosPerMTokens: input, outputMicrosPerMTokens: output } = rates.rates;
  return `$${formatUsd(input)} in / $${formatUsd(output)} out per 1M tokens${rates.listed ? " (Together's price list)" : ''}`;
}

/**
 * Reads Together's listed `pricing.input` / `pricing.output` (USD per 1M tokens for chat and language models) as
 * token rates. A price of 0 or none means Together lists no price, so the answer is unknown rather than free.
 */
export function listedTokenRates(pricing: ListedPricing | undefined): TokenRates | undefined {
  const input = perMillion(pricing?.input);
  const output = perMillion(pricing?.output);
  return input === undefined || output === undefined
    ? undefined
    : { inputMicrosPerMTokens: input, outputMicrosPerMTokens: output };
}

/** One entry of Together's model list (`GET /v1/models`), as far as lorabot reads it. */
export interface ListedModel {
  id: string;
  /** `chat`, `language`, `code`, `image`, `embedding`, `moderation`, `rerank`, `audio`, …; `unknown` when absent. */
  type: string;
  pricing?: ListedPricing;
}

/** Together's `pricing` object of one `GET /v1/models` entry; every field may be missing. */
export interface ListedPricing {
  input?: number;
  output?: number;
  base?: number;
  hourly?: number;
  finetune?: number;
}

function perMillion(usd: number | undefined): Micros | undefined {
  if (usd === undefined || !Number.isFinite(usd) || usd <= 0) return undefined;
  // A listed price finer than a micro-dollar per 1M tokens is rounded up: never below what Together charges.
  return Math.ceil(Math.round(usd * 1e12) / 1e6);
}

function chatMicros(promptTokens: number, completionTokens: number, rates: TokenRates): Micros {
  const numerator =
    BigInt(promptTokens) * BigInt(rates.inputMicrosPerMTokens) +
    BigInt(completionTokens) * BigInt(rates.outputMicrosPerMTokens);
  return toMicros(ceilDiv(numerator, 1_000_000n));
}

const UPTIME_NOTE = 'billed per minute of endpoint uptime (dedicated endpoint)';

/** A dedicated endpoint billed by uptime: the request itself adds $0 to the ledger, and the line says why. */
const UPTIME_BILLED: Cost = { priced: false, micros: 0, text: `Cost: ${UPTIME_NOTE}` };

function unpriced(model: string): { priced: false; micros: 0; text: string } {
  return unknownCost(`no price is configured for ${model}`);
}

function unknownCost(reason: string): { priced: false; micros: 0; text: string } {
  return { priced: false, micros: 0, text: `Cost: unknown (${reason})` };
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
