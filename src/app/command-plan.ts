import { formatChatCommand, formatImageCommand } from '../core/command-format.js';
import { imageModelFor } from '../core/edit-model.js';
import type { DeliveryTarget, JobData } from '../core/jobs.js';
import type { ChatMessage } from '../core/ports.js';
import { chatRates, estimateChat, priceImage } from '../core/pricing.js';
import type { AcceptedCommand } from '../core/requests.js';
import type { CoreSettings } from '../core/settings.js';
import { buildChatBody, buildImageBody, contentText } from '../core/together-bodies.js';

export interface CommandPlan {
  kind: 'flux' | 'ask';
  /** The exact Together request body. */
  body: Record<string, unknown>;
  /** Image: the exact price; chat: the most it can cost. */
  estimate: { priced: boolean; micros: number; text: string };
  /** The command as it will be shown, formatted back from the request. */
  command: string;
}

/** Turns an accepted command into what Together will receive and what it may cost: no I/O. */
export function planCommand(
  command: AcceptedCommand,
  settings: CoreSettings,
  history: readonly ChatMessage[] = [],
): CommandPlan {
  if (command.kind === 'flux') {
    const body = buildImageBody(command.request, settings.image);
    const { model, pricing } = imageModelFor(command.request, settings.image);
    return {
      kind: 'flux',
      body: { ...body },
      estimate: priceImage(command.request, pricing, model),
      command: formatImageCommand(command.request, settings),
    };
  }
  const model = settings.chat.models[command.request.model]!;
  const body = buildChatBody(command.request.question, model, { history });
  return {
    kind: 'ask',
    body: { ...body },
    estimate: estimateChat(
      { messages: body.messages.map((m) => contentText(m.content)), maxTokens: model.maxTokens },
      chatRates(model.pricing, model.id, settings.prices),
    ),
    command: formatChatCommand(command.request, settings),
  };
}

/** The job for a planned command. */
export function jobData(
  command: AcceptedCommand,
  plan: CommandPlan,
  target: DeliveryTarget,
  receivedAt: number,
): JobData {
  const common = {
    command: plan.command,
    body: plan.body,
    estimateMicros: plan.estimate.micros,
    target,
    receivedAt,
  };
  return command.kind === 'flux'
    ? { kind: 'flux', request: command.request, ...common }
    : { kind: 'ask', request: command.request, ...common };
}
