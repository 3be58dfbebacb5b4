import { formatChatCommand, formatImageCommand } from '../core/command-format.js';
import { imageModelFor } from '../core/edit-model.js';
import type { PendingJob } from '../core/intake.js';
import type { DeliveryTarget, JobData } from '../core/jobs.js';
import type { ChatMessage } from '../core/ports.js';
import { chatRates, estimateChat, priceImage } from '../core/pricing.js';
import { type AcceptedCommand, sourceInBody } from '../core/requests.js';
import type { CoreSettings } from '../core/settings.js';
import { buildChatBody, buildImageBody, contentText } from '../core/together-bodies.js';
import { imagesTokens } from '../core/vision.js';

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
  const { request } = command;
  const model = settings.chat.models[request.model]!;
  // Earlier turns' pictures are in `history` already (indexes 0…earlier-1); the question's own follow them.
  const earlier = request.earlierImages ?? 0;
  const own = (request.images ?? []).slice(earlier).map((source, i) => sourceInBody(source, earlier + i));
  const body = buildChatBody(request.question, model, { history, images: own });
  return {
    kind: 'ask',
    body: { ...body },
    estimate: estimateChat(
      {
        messages: body.messages.map((m) => contentText(m.content)),
        maxTokens: model.maxTokens,
        images: imagesTokens(request.images),
      },
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
  return { ...pendingJob(command, plan, receivedAt), target } as JobData;
}

/** The job for a planned command before its status is posted (which says where it goes). */
export function pendingJob(
  command: AcceptedCommand,
  plan: CommandPlan,
  receivedAt: number,
  context?: string,
): PendingJob {
  const common = {
    command: plan.command,
    ...(context ? { context } : {}),
    body: plan.body,
    estimateMicros: plan.estimate.micros,
    receivedAt,
  };
  return command.kind === 'flux'
    ? { kind: 'flux', request: command.request, ...common }
    : { kind: 'ask', request: command.request, ...common };
}
