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
 * Claims the request (a redelivery stops here), posts its status message, and queues the job. Leaves nothing
 * half done: on failure the claim is released, a posted status says it failed, and the person is told why.
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
  let posted: PostedStatus | undefined;
  try {
    claimed = await deps.queue.claim(requestKey);
    if (!claimed) {
      deps.logger.info(log, 'duplicate request ignored');
      count(plan.kind, 'duplicate');
      return;
    }
    const position = await deps.queue.position(plan.kind);
    posted = await platform.postStatus(view, { state: 'queued', position }, followUp?.threadId);
    const data = jobData(command, plan, posted.target, event.receivedAt);
    if (followUp) data.context = followUp.note;
    if (data.kind === 'ask') {
      data.conversation = followUp
        ? { key: followUp.conversationKey, aliases: posted.aliases }
        : { key: posted.conversationKey, aliases: [] };
    }
    await deps.queue.enqueue(requestKey, data);
    deps.logger.info({ ...log, jobId: requestKey }, 'job queued');
    count(plan.kind, 'queued');
    // Queued already: telling the notices cannot undo that (tell never throws).
    if (command.notices.length > 0) await platform.tell(command.notices.join('\n'));
  } catch (error) {
    deps.logger.error({ ...log, err: errorText(error) }, 'could not queue a command');
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
