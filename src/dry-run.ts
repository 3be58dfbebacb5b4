import { buildChatBody, buildImageBody } from './adapters/together/request-bodies.js';
import { parseCommandLine } from './core/command-parser.js';
import { ASK_HELP, FLUX_HELP } from './core/help-text.js';
import { microsToUsd } from './core/money.js';
import { estimateChat, priceImage } from './core/pricing.js';
import type { CoreSettings } from './core/settings.js';

export type DryRunOutput =
  | {
      ok: true;
      kind: 'flux' | 'ask';
      request: Record<string, unknown>;
      estimate: { usd: number | null; text: string };
    }
  | { ok: true; kind: 'help'; text: string }
  | { ok: false; error: string };

/**
 * Parses, validates and prices a command without queueing anything or calling Together: the exact request body
 * that would be sent and its estimate. Notices (such as a rewritten link) come back separately.
 */
export function dryRun(line: string, settings: CoreSettings): { output: DryRunOutput; notices: string[] } {
  const parsed = parseCommandLine(line, settings);
  if (!parsed.success) return { output: { ok: false, error: parsed.error.message }, notices: [] };
  const command = parsed.data;
  if (command.kind === 'help') {
    return {
      output: { ok: true, kind: 'help', text: command.topic === 'flux' ? FLUX_HELP : ASK_HELP },
      notices: [],
    };
  }
  if (command.kind === 'flux') {
    const body = buildImageBody(command.request, settings.image);
    const cost = priceImage(command.request, settings.image.pricing, settings.image.model);
    return {
      output: {
        ok: true,
        kind: 'flux',
        request: { ...body },
        estimate: { usd: cost.priced ? microsToUsd(cost.micros) : null, text: cost.text },
      },
      notices: command.notices,
    };
  }
  const model = settings.chat.models[command.request.model]!;
  const body = buildChatBody(command.request.question, model);
  const cost = estimateChat(
    { messages: body.messages.map((m) => m.content), maxTokens: model.maxTokens },
    model.pricing,
    model.id,
  );
  return {
    output: {
      ok: true,
      kind: 'ask',
      request: { ...body },
      estimate: { usd: cost.priced ? microsToUsd(cost.micros) : null, text: cost.text },
    },
    notices: command.notices,
  };
}
