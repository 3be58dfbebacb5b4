import { setTimeout as sleep } from 'node:timers/promises';
import { refusalText } from '../core/budget.js';
import { type IntakePoint, type IntakeRecord, jobWithStatus, LAUNCH_DEADLINE_MS } from '../core/intake.js';
import type { JobView } from '../core/jobs.js';
import type { ChatPlatform, InboundEvent, PostedStatus } from './chat-platform.js';
import { pendingJob } from './command-plan.js';
import type { InboundDeps, Planned } from './intake.js';

/** What the service tells when the queue (or the platform) cannot take a request. */
export const UNAVAILABLE =
  "lorabot can't take requests right now: its queue is unreachable. Nothing was queued or charged. Try again shortly.";

/**
 * What the service tells when Redis stopped answering in the middle of a launch and the request could not be given
 * back: its intake record may still be there, and a worker's sweep then runs it once Redis is back.
 */
export const KEPT =
  "lorabot's queue stopped answering while taking this request, so it may still run once the queue is back (its status will show here). If it has not started within a few minutes, try again.";

/** What the service tells when a launch passed `LAUNCH_DEADLINE_MS`: a worker's sweep takes the request over. */
export const DELAYED =
  "lorabot's queue is slow right now. Your request is kept and will start by itself within a few minutes: its status will show here.";

/**
 * Before each new try at giving a failed launch back (ms): the gateway's Redis connection fails at once while Redis
 * is away and reconnects within 100–2,000 ms, so a drop of a few seconds is waited out (under 4 s in all).
 */
const GIVE_BACK_WAITS_MS = [250, 500, 1_000, 2_000];

/** Counts an event in `lorabot_commands_total` under a kind and an outcome. */
export type Count = (kind: string, outcome: string) => void;

/** One event being handled: what happened, the platform to answer on, and its counter. */
export interface EventContext {
  event: InboundEvent;
  platform: ChatPlatform;
  count: Count;
}

/**
 * Claims the request (a redelivery stops here) and writes its intake record in the same step, admits it (its
 * estimate reserved against every budget, and the requester under the per-person cap, in one atomic step; a
 * refusal is told privately), posts its status message, queues the job with a priority that lets other people's
 * jobs pass the tail of this person's, and clears the record. A gateway that stops anywhere in between leaves the
 * record to a worker's recovery sweep, which finishes the launch; so does this one past `LAUNCH_DEADLINE_MS`
 * before it posts the status (the sweep then owns the request; the person is told it is kept). Leaves nothing half
 * done: on failure the reservation, the claim and the record are released (tried again while Redis reconnects), a
 * posted status says it failed, and the person is told why; when Redis stays away, that the sweep may still run it
 * (`KEPT`), since its record may still be there.
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
  const view: JobView = { jobId: requestKey, kind: plan.kind, command: plan.command };
  if (followUp) view.context = followUp.note;
  const job = pendingJob(command, plan, event.receivedAt, followUp?.note);
  const record = intakeRecord(deps, context, { requestKey, view, job, followUp });
  const reached = (point: IntakePoint) => deps.afterIntake?.(requestKey, point);
  let claimed = false;
  let admitted = false;
  let posted: PostedStatus | undefined;
  try {
    claimed = await deps.queue.claim(requestKey, record);
    if (!claimed) {
      deps.logger.info(log, 'duplicate request ignored');
      count(plan.kind, 'duplicate');
      return;
    }
    await reached('claimed');
    const admission = await deps.admission.admit(requestKey, {
      requester,
      kind: plan.kind,
      estimate: plan.estimate.micros,
      now: deps.now(),
    });
    if (!admission.ok) {
      const { reason } = admission.refusal;
      deps.logger.info({ ...log, reason }, 'request not admitted');
      count(plan.kind, reason === 'cap' ? 'over_cap' : 'over_budget');
      await deps.queue.settle(requestKey).catch(() => undefined);
      await platform.tell(refusalText(admission.refusal));
      return;
    }
    admitted = true;
    await reached('admitted');
    if (record && deps.now() - record.at > LAUNCH_DEADLINE_MS) {
      deps.logger.warn(log, 'launch took too long: a worker will post the status and queue the job');
      count(plan.kind, 'queued');
      await platform.tell(DELAYED);
      return;
    }
    const { priority } = admission;
    const position = await deps.queue.position(plan.kind, priority);
    posted = await platform.postStatus(view, { state: 'queued', position }, followUp?.threadId);
    await reached('posted');
    await deps.queue.enqueue(requestKey, jobWithStatus(job, posted, followUp?.conversationKey), { priority });
    deps.logger.info({ ...log, jobId: requestKey }, 'job queued');
    count(plan.kind, 'queued');
    await reached('queued');
    // Queued already: a record left behind is cleared by the sweep, which finds the job.
    await deps.queue.settle(requestKey).catch(() => undefined);
    // Queued already: telling the notices cannot undo that (tell never throws).
    if (command.notices.length > 0) await platform.tell(command.notices.join('\n'));
  } catch (error) {
    deps.logger.error({ ...log, err: errorText(error) }, 'could not queue a command');
    count(plan.kind, 'unavailable');
    const givenBack = await giveBack(deps, requestKey, { claimed, admitted });
    if (!givenBack) deps.logger.error(log, 'could not give a failed launch back: a worker may still run it');
    const reason = givenBack ? (platform.failureText?.(error) ?? UNAVAILABLE) : KEPT;
    if (posted) {
      await platform.updateStatus(posted.target, view, { state: 'failed', reason }).catch(() => undefined);
    }
    await platform.tell(reason);
  }
}

/**
 * Gives a failed launch back: its reservation, then its claim and intake record, trying again while Redis
 * reconnects (`GIVE_BACK_WAITS_MS`). True when the record is gone (or was never written), so no sweep will run the
 * request; false when Redis did not answer in time and the record may still be there.
 */
async function giveBack(
  deps: InboundDeps,
  requestKey: string,
  taken: { claimed: boolean; admitted: boolean },
): Promise<boolean> {
  const { claimed } = taken;
  let admitted = taken.admitted;
  for (const wait of [0, ...GIVE_BACK_WAITS_MS]) {
    if (wait > 0) await sleep(wait);
    try {
      if (admitted) await deps.admission.release(requestKey);
      admitted = false;
      if (claimed) await deps.queue.release(requestKey);
      return true;
    } catch {
      // Redis is away; the next try may find it back.
    }
  }
  return !claimed;
}

/** What the claim keeps of a request, where the platform can say where its status goes (not the command line). */
function intakeRecord(
  deps: InboundDeps,
  context: EventContext,
  parts: Pick<IntakeRecord, 'requestKey' | 'view' | 'job'> & { followUp: Planned['followUp'] },
): IntakeRecord | undefined {
  const { requestKey, view, job, followUp } = parts;
  const origin = context.platform.statusOrigin?.(view, followUp?.threadId);
  if (!origin) return undefined;
  return {
    requestKey,
    at: deps.now(),
    origin,
    view,
    job,
    requester: context.event.requester,
    ...(followUp ? { followUpKey: followUp.conversationKey } : {}),
  };
}

/** An error's message for the log (never a token: platform errors carry codes, not requests). */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
