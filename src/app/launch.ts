import { refusalText } from '../core/budget.js';
import type { ChatPlatform, InboundEvent, PostedStatus } from './chat-platform.js';
import { jobData } from './command-plan.js';
import type { InboundDeps, Planned } from './intake.js';

/** What the service tells when the queue (or the platform) cannot take a request. */
export const UNAVAILABLE =
  "lorabot can't take requests right now: its queue is unreachable. Nothing was queued or charged. Try again shortly.";

/** Counts an event in `lorabot_commands_total` under a kind and an outcome. */
export type Count = (kind: string, outcome: string) => void;

/** One event being handled: what happened, the platform to answer on, and its counter. */
export interface EventContext {
  event: InboundEvent;
  platform: ChatPlatform;
  count: Count;
}

/**
 * Claims the request (a redelivery stops here), admits it (its estimate reserved against every budget, and the
 * requester under the per-person cap, in one atomic step; a refusal is told privately), posts its status message,
 * and queues the job with a priority that lets other people's jobs pass the tail of this person's. Leaves nothing
 * half done: on failure the reservation and the claim are released, a posted status says it failed, and the
 * person is told why.
 */
export async function launch(
  deps: InboundDeps,
  context: EventContext,
  request: Planned & { requestKey: string },
): Promise<void> {
  const { event, platform, count } = context;
  const { plan, command, followUp, requestKey } = request;
  const { requester } = event;
  const log = {
    requestKey,
    kind: plan.kind,
    platform: requester.platform,
    entry: event.entry,
    team: requester.workspaceId,
    channel: requester.channelId,
  };
  const view = {
    jobId: requestKey,
    kind: plan.kind,
    command: plan.command,
    ...(followUp ? { context: followUp.note } : {}),
  };
  let claimed = false;
  let admitted = false;
  let posted: PostedStatus | undefined;
  try {
    claimed = await deps.queue.claim(requestKey);
    if (!claimed) {
      deps.logger.info(log, 'duplicate request ignored');
      count(plan.kind, 'duplicate');
      return;
    }
    const estimate = plan.estimate.micros;
    const admission = await deps.admission.admit(requestKey, {
      requester,
      kind: plan.kind,
      estimate,
      now: deps.now(),
    });
    if (!admission.ok) {
      const { reason } = admission.refusal;
      deps.logger.info({ ...log, reason }, 'request not admitted');
      count(plan.kind, reason === 'cap' ? 'over_cap' : 'over_budget');
      await platform.tell(refusalText(admission.refusal));
      return;
    }
    admitted = true;
    const { priority } = admission;
    const position = await deps.queue.position(plan.kind, priority);
    posted = await platform.postStatus(view, { state: 'queued', position }, followUp?.threadId);
    const data = jobData(command, plan, posted.target, event.receivedAt);
    if (followUp) data.context = followUp.note;
    if (data.kind === 'ask') {
      data.conversation = followUp
        ? { key: followUp.conversationKey, aliases: posted.aliases }
        : { key: posted.conversationKey, aliases: [] };
    }
    await deps.queue.enqueue(requestKey, data, { priority });
    deps.logger.info({ ...log, jobId: requestKey }, 'job queued');
    count(plan.kind, 'queued');
    // Queued already: telling the notices cannot undo that (tell never throws).
    if (command.notices.length > 0) await platform.tell(command.notices.join('\n'));
  } catch (error) {
    deps.logger.error({ ...log, err: errorText(error) }, 'could not queue a command');
    if (admitted) await deps.admission.release(requestKey).catch(() => undefined);
    if (claimed) await deps.queue.release(requestKey).catch(() => undefined);
    count(plan.kind, 'unavailable');
    const reason = platform.failureText?.(error) ?? UNAVAILABLE;
    if (posted) {
      await platform.updateStatus(posted.target, view, { state: 'failed', reason }).catch(() => undefined);
    }
    await platform.tell(reason);
  }
}

/** An error's message for the log (never a token: platform errors carry codes, not requests). */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
