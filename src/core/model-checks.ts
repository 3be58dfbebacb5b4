import type { DoctorCheck } from './doctor-check.js';
import { formatUsd } from './money.js';
import { type ListedModel, listedTokenRates } from './pricing.js';
import type { ChatPricing, CoreSettings, ImagePricing, TokenRates } from './settings.js';

/** A model the config names, with the key an operator changes to fix it. */
export interface ConfiguredModel {
  /** `image.model`, `image.edit.model` or `chat.models.<name>`. */
  setting: string;
  id: string;
  use: 'image' | 'chat';
  pricing: ImagePricing | ChatPricing | null;
}

/** Model types `/ask` can use: Together serves both through chat completions. */
const CHAT_TYPES = new Set(['chat', 'language']);

/**
 * The image model, the edit model when it is another, and every chat preset, in the order `lorabot doctor` prints
 * them.
 */
export function configuredModels(settings: CoreSettings): ConfiguredModel[] {
  const { image } = settings;
  const edit: ConfiguredModel[] =
    image.edit.model === image.model
      ? []
      : [{ setting: 'image.edit.model', id: image.edit.model, use: 'image', pricing: image.edit.pricing }];
  return [
    { setting: 'image.model', id: image.model, use: 'image', pricing: image.pricing },
    ...edit,
    ...Object.values(settings.chat.models).map((m) => ({
      setting: `chat.models.${m.name}`,
      id: m.id,
      use: 'chat' as const,
      pricing: m.pricing,
    })),
  ];
}

/**
 * Checks each configured model against Together's model list: listed or not, of a type lorabot can use, and (for
 * chat presets) its price against the listed one. Only chat prices are compared: Together documents `pricing.input`
 * and `pricing.output` as USD per 1M tokens for chat models, and no unit for image models. One line per problem,
 * or one OK line per model.
 */
export function checkModels(
  listed: readonly ListedModel[],
  configured: readonly ConfiguredModel[],
): DoctorCheck[] {
  const byId = new Map(listed.map((m) => [m.id, m]));
  return configured.flatMap((model) => {
    const entry = byId.get(model.id);
    if (!entry) return [missing(model)];
    const problems = [typeProblem(model, entry), pricingProblem(model, entry)].filter(
      (check): check is DoctorCheck => check !== undefined,
    );
    if (problems.length > 0) return problems;
    return [
      ok(`model ${model.id} (${model.setting}) is listed as ${entry.type}; ${priceSummary(model, entry)}`),
    ];
  });
}

function missing(model: ConfiguredModel): DoctorCheck {
  if (model.id.includes(':')) {
    return warn(
      `model ${model.id} (${model.setting}) looks like an adapter on a dedicated endpoint (endpoint:adapter), which ` +
        `Together's model list does not show: check that the endpoint is running, or change ${keyOf(model)}`,
    );
  }
  const example = model.use === 'image' ? ', e.g. black-forest-labs/FLUX.2-dev' : '';
  return fail(
    `model ${model.id} is not in Together's model list (deprecated, misspelt, or a dedicated endpoint that is ` +
      `gone): set ${keyOf(model)} to a listed ${model.use} model${example}`,
  );
}

function typeProblem(model: ConfiguredModel, entry: ListedModel): DoctorCheck | undefined {
  const key = keyOf(model);
  if (model.use === 'image') {
    return entry.type === 'image'
      ? undefined
      : fail(
          `model ${model.id} is listed as ${article(entry.type)} model, not an image model: set ${key} to one`,
        );
  }
  if (CHAT_TYPES.has(entry.type)) return undefined;
  if (entry.type === 'code' || entry.type === 'unknown') {
    return warn(
      `model ${model.id} is listed as ${article(entry.type)} model, not a chat model: /ask sends it chat ` +
        `completions, which it may not answer well; check ${key}`,
    );
  }
  return fail(
    `model ${model.id} is listed as ${article(entry.type)} model, not a chat model: set ${key} to one`,
  );
}

function pricingProblem(model: ConfiguredModel, entry: ListedModel): DoctorCheck | undefined {
  const key = model.use === 'image' ? 'image.pricing' : `${model.setting}.pricing`;
  const pricing = model.pricing;
  if (!pricing) {
    return warn(`${key} is not set: results for ${model.id} will say "Cost: unknown"; set a price`);
  }
  if (model.use === 'image' || pricing.kind === 'per-minute') return undefined;
  const listedRates = listedTokenRates(entry.pricing);
  if (pricing.kind === 'auto') {
    return listedRates
      ? undefined
      : warn(
          `${key} is auto, but Together lists no per-token price for ${model.id}: its answers will say ` +
            `"Cost: unknown"; set input_usd_per_m_tokens and output_usd_per_m_tokens instead`,
        );
  }
  if (pricing.kind !== 'per-token' || !listedRates || sameRates(pricing, listedRates)) return undefined;
  return warn(
    `${key}: configured ${rates(pricing)}, Together lists ${rates(listedRates)} for ${model.id} ` +
      `(compared: pricing.input and pricing.output of GET /v1/models, USD per 1M tokens): update ${key}, ` +
      'or set it to auto',
  );
}

function priceSummary(model: ConfiguredModel, entry: ListedModel): string {
  const pricing = model.pricing;
  if (pricing?.kind === 'per-minute') return 'billed per minute of endpoint uptime (no per-request price)';
  if (model.use === 'image') {
    return "price not compared (Together's list gives no unit for image prices): check it against your bill";
  }
  const listedRates = listedTokenRates(entry.pricing);
  if (pricing?.kind === 'auto') return `priced from Together's list: ${rates(listedRates!)}`;
  return listedRates
    ? `configured price matches Together's list (${rates(listedRates)})`
    : 'Together lists no per-token price to compare with the configured one';
}

function sameRates(a: TokenRates, b: TokenRates): boolean {
  return (
    a.inputMicrosPerMTokens === b.inputMicrosPerMTokens &&
    a.outputMicrosPerMTokens === b.outputMicrosPerMTokens
  );
}

function rates(r: TokenRates): string {
  return `$${formatUsd(r.inputMicrosPerMTokens)} in / $${formatUsd(r.outputMicrosPerMTokens)} out per 1M tokens`;
}

/** The config key that names the model. */
function keyOf(model: ConfiguredModel): string {
  return model.use === 'image' ? model.setting : `${model.setting}.id`;
}

function article(type: string): string {
  return `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`;
}

function ok(message: string): DoctorCheck {
  return { level: 'OK', name: 'together', message };
}

function warn(message: string): DoctorCheck {
  return { level: 'WARN', name: 'together', message };
}

function fail(message: string): DoctorCheck {
  return { level: 'FAIL', name: 'together', message };
}
