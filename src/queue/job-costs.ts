import { imageModelFor } from '../core/edit-model.js';
import type { ChatJobData, ImageJobData, JobData } from '../core/jobs.js';
import { formatUsd } from '../core/money.js';
import type { ChatResult, ChatUsage } from '../core/ports.js';
import { type Cost, chatRates, priceChat, priceImage } from '../core/pricing.js';
import { imagesTokens } from '../core/vision.js';
import type { WorkerServices } from './worker-services.js';

/**
 * An image job's price: exact, from the request (Together bills the request, whatever became of the images), at
 * the edit model's price when it starts from images.
 */
export function imageCost(services: WorkerServices, data: ImageJobData): Cost {
  const { pricing } = imageModelFor(data.request, services.deps.settings.image);
  return priceImage(data.request, pricing, String(data.body.model));
}

/**
 * An answer's price: Together's token counts when it sent them, else counts estimated from the text (about four
 * characters a token, the prompt from the request's messages, plus the images' tile count), marked estimated.
 * Together reports images inside `prompt_tokens`; the cost line shows them apart at the tile rule's count (at most
 * the reported input), the rest as text. `note` says why the answer is incomplete, e.g. `answer cancelled`.
 */
export function chatCost(
  services: WorkerServices,
  data: ChatJobData,
  result: { text: string; usage: ChatUsage | undefined; note?: string },
): Cost {
  const { settings } = services.deps;
  const model = settings.chat.models[data.request.model];
  const images = imagesTokens(data.request.images);
  const usage = result.usage ?? {
    promptTokens: Math.ceil(JSON.stringify(data.body.messages ?? '').length / 4) + images.tokens,
    completionTokens: Math.ceil(result.text.length / 4),
  };
  const rates = chatRates(model?.pricing ?? null, String(data.body.model), settings.prices);
  const counted = images.count > 0 ? { images } : {};
  return priceChat({ ...usage, ...counted, estimated: !result.usage }, rates, result.note);
}

/** What a provider result saved in the journal (`saveCheckpoint`) cost. */
export function savedResultCost(services: WorkerServices, data: JobData, saved: unknown): Cost {
  if (data.kind === 'flux') return imageCost(services, data);
  return chatCost(services, data, saved as ChatResult);
}

/**
 * What a call whose result nobody saw (lost with its worker, or answered but unusable) may have cost: an image
 * request's exact price; for an answer, whose length is unknown, the request's upper bound, marked estimated.
 */
export function callCostWithoutResult(services: WorkerServices, data: JobData): Cost {
  if (data.kind === 'flux') return imageCost(services, data);
  const micros = data.estimateMicros;
  return {
    priced: true,
    micros,
    estimated: true,
    text: `Cost: at most ~$${formatUsd(micros)} (estimated: the request's upper bound)`,
  };
}
