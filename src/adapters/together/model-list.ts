import type { ListedModel, ListedPricing } from '../../core/pricing.js';

/** The numeric fields of Together's `Pricing` object that lorabot reads. */
const PRICE_FIELDS = ['input', 'output', 'base', 'hourly', 'finetune'] as const;

/**
 * Reads Together's model list (`GET /v1/models`, a `ModelInfoList`) into the entries lorabot uses: id, type and
 * pricing. Tolerant on purpose: the list is an array today (and an object with `data` in older answers); an entry
 * without a string id is skipped, a missing type reads as `unknown`, and a price that is not a finite number is
 * left out rather than read as 0.
 *
 * @see https://docs.together.ai/reference/models-1
 */
export function parseModelList(json: unknown): ListedModel[] {
  const list = Array.isArray(json) ? json : isRecord(json) && Array.isArray(json.data) ? json.data : [];
  const models: ListedModel[] = [];
  for (const entry of list) {
    if (!isRecord(entry) || typeof entry.id !== 'string' || entry.id === '') continue;
    const model: ListedModel = {
      id: entry.id,
      type: typeof entry.type === 'string' ? entry.type : 'unknown',
    };
    const pricing = readPricing(entry.pricing);
    if (pricing) model.pricing = pricing;
    models.push(model);
  }
  return models;
}

function readPricing(value: unknown): ListedPricing | undefined {
  if (!isRecord(value)) return undefined;
  const pricing: ListedPricing = {};
  for (const field of PRICE_FIELDS) {
    const price = value[field];
    if (typeof price === 'number' && Number.isFinite(price)) pricing[field] = price;
  }
  return pricing;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
