import { type Job, UnrecoverableError } from 'bullmq';
import { failedReasonText } from '../core/job-failure.js';
import { type Deliverer, type JobData, jobView, type StepPost } from '../core/jobs.js';
import { isProviderFailure } from '../core/lorabot-error.js';
import { chargeWhatWasBilled } from './billed-calls.js';
import { StreamBrokeOff } from './chat-job.js';
import { callCostWithoutResult } from './job-costs.js';
import type { Steps } from './step-journal.js';
import { errorText, type WorkerServices } from './worker-services.js';

/** The journal step recorded when a job has ended (`onJobEnded`). */
const ENDED_STEP = 'ended';

/** BullMQ's reason for a job that stalled more than `maxStalledCount` times. */
const STALLED_REASON = /stalled more than allowable limit/;

/** One attempt of a job that did not succeed: where it was going and its journal. */
interface FailedRun {
  deliverer: Deliverer;
  steps: Steps;
}

/** A job someone cancelled before it started. */
export class JobCancelled extends Error {
  constructor(readonly by: string) {
    super('cancelled');
  }
}

/** The user who cancelled the job, when that is why it stopped. */
export async function cancelledBy(
  services: WorkerServices,
  jobId: string,
  stopped: { error: unknown; signal: AbortSignal | undefined },
): Promise<string | undefined> {
  if (stopped.error instanceof JobCancelled) return stopped.error.by;
  if (!stopped.signal?.aborted) return undefined;
  return (await services.deps.connection.get(services.deps.keys.cancelled(jobId))) ?? undefined;
}

/**
 * A cancelled job: its status says so and nothing is charged, unless Together had already answered (the
 * result checkpoint exists) or an earlier attempt's call was lost with its worker: that work may have been billed
 * and is charged as such. A streamed answer cancelled partway was charged where it stopped (chat-job.ts).
 */
export async function reportCancelled(
  services: WorkerServices,
  job: Job<JobData>,
  run: FailedRun & { by: string },
): Promise<void> {
  const data = job.data;
  services.logger.info({ jobId: job.id, kind: data.kind }, 'job cancelled');
  await chargeWhatWasBilled(services, job, 'cancelled after Together answered');
  await services.releaseReservation(job.id!);
  await run.steps
    .once('status:final', () =>
      run.deliverer.updateStatus(data.target, jobView(job.id!, data), { state: 'cancelled', by: run.by }),
    )
    .catch((error: unknown) =>
      services.logger.error({ jobId: job.id, err: errorText(error) }, 'could not report the cancellation'),
    );
  await onJobEnded(services, job, 'cancelled', { deliverer: run.deliverer });
}

/**
 * Decides what a failure means for the job. Passing provider trouble is thrown back to BullMQ to retry with
 * backoff; anything else, or the last attempt, is reported once in the thread and ends the job. A failure only
 * an operator can fix (no or a rejected key, a model that refuses LoRAs, is gone or needs data sharing) is never
 * `retryLater`, so it ends here on the first attempt. The job keeps the failure's code in its `failedReason`
 * (`failedReasonText`), where `lorabot run` reads it.
 */
export async function handleFailure(
  services: WorkerServices,
  job: Job<JobData>,
  run: FailedRun & { error: unknown },
): Promise<Error> {
  const { error } = run;
  const provider = isProviderFailure(error) ? error : undefined;
  const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1) || error instanceof StreamBrokeOff;
  const code = provider?.code;
  const log = {
    jobId: job.id,
    kind: job.data.kind,
    attempt: job.attemptsMade + 1,
    err: errorText(error),
    ...(code ? { code } : {}),
  };
  if (!provider) {
    // Not the provider: delivery or infrastructure. Let BullMQ retry; the journal keeps what was done.
    services.logger.warn(log, 'job step failed');
    if (!lastAttempt) return error instanceof Error ? error : new Error(String(error));
  } else if (provider.retryLater && !lastAttempt) {
    services.logger.warn(log, 'provider failed; the job will be retried');
    return provider;
  }
  services.logger.error(log, 'job failed');
  const reason =
    provider?.userMessage ??
    'Something went wrong delivering the result. An operator can find the details in the logs.';
  // $0 for a failure unless Together certainly billed it (it answered 200 and the images were lost on the way).
  if (provider?.billed) {
    await services.chargeBilled(
      job,
      callCostWithoutResult(services, job.data),
      'Together did the work, but the result could not be used',
    );
  }
  await endFailed(services, job, { ...run, reason });
  return new UnrecoverableError(failedReasonText({ reason, code }));
}

/**
 * A job BullMQ failed without running the processor's failure path: stalled more than `queue.max_stalled_count`
 * times (BullMQ marks it and fails it when a worker next takes it, whichever worker that is), started too often, or
 * anything else that bypasses the processor. It ends like any failed job: one message in the thread, the status
 * final, and the charge for what Together may have billed. Called for every `failed` event; a job that BullMQ
 * will retry, or whose end the processor already reported, is left alone (false).
 */
export async function reportQueueFailure(
  services: WorkerServices,
  job: Job<JobData>,
  run: { deliverer: () => Deliverer; error: Error },
): Promise<boolean> {
  const id = job.id!;
  if (await services.journal.hasStep(id, ENDED_STEP)) return false;
  if ((await job.getState()) !== 'failed') return false;
  services.logger.error(
    { jobId: id, kind: job.data.kind, err: run.error.message },
    'job failed outside its processor',
  );
  const reason = STALLED_REASON.test(run.error.message)
    ? 'The job was interrupted too many times (the worker running it stopped) and was given up. Try again; if it keeps happening, an operator can find the details in the logs.'
    : 'The job was stopped by the queue before it could finish. Try again; an operator can find the details in the logs.';
  await endFailed(services, job, {
    deliverer: run.deliverer(),
    steps: services.journal.forJob(id),
    error: run.error,
    reason,
  });
  return true;
}

/**
 * The end of every failed job, whichever path found it: the charge for what Together may have billed (a call lost
 * with its worker, a result saved but never delivered), the requester and the status told, and the job's end.
 */
async function endFailed(
  services: WorkerServices,
  job: Job<JobData>,
  run: FailedRun & { error: unknown; reason: string },
): Promise<void> {
  await chargeWhatWasBilled(services, job, 'Together answered, but the job failed before delivering it');
  // Given back before the thread is told, so what the requester reads next (usage, a new request) counts it.
  await services.releaseReservation(job.id!);
  await reportFailure(services, job, run);
  await onJobEnded(services, job, 'failed', { deliverer: run.deliverer });
}

/**
 * Every job's end, once: done, failed (by the processor or by BullMQ) or cancelled. The journal's `ended` step is
 * what keeps a BullMQ `failed` event from reporting a job the processor already reported. A job's budget
 * reservation ends before this: settled by its charge (done), or given back (`endFailed`, `reportCancelled`).
 */
export async function onJobEnded(
  services: WorkerServices,
  job: Job<JobData>,
  end: 'done' | 'failed' | 'cancelled',
  ended?: { deliverer: Deliverer; costText?: string },
): Promise<void> {
  await services.journal.forJob(job.id!).once(ENDED_STEP, async () => {
    services.logger.debug({ jobId: job.id, kind: job.data.kind, end }, 'job ended');
    const { kind, command, target } = job.data;
    // What the platform keeps of the job for the person (Slack's Home tab); its failure never fails the job.
    await ended?.deliverer
      .jobEnded?.(target, {
        jobId: job.id!,
        kind,
        command,
        end,
        at: Date.now(),
        ...(ended.costText ? { costText: ended.costText } : {}),
      })
      .catch((error: unknown) =>
        services.logger.warn({ jobId: job.id, err: errorText(error) }, 'could not record the ended job'),
      );
  });
}

/** Tells the requester, and the status, that the job failed; each report is tried on its own. */
async function reportFailure(
  services: WorkerServices,
  job: Job<JobData>,
  run: FailedRun & { error: unknown; reason: string },
): Promise<void> {
  const { deliverer, steps, reason } = run;
  const data = job.data;
  const streamed = await services.journal.peekValue(job.id!, 'answer:stream');
  // A channel that refuses the notice may still take the status edit.
  const reports: Array<[string, (post: StepPost) => Promise<void>]> = [
    [
      'notify',
      (post) => services.notify(deliverer, data.target, { ok: false, kind: data.kind, text: reason }, post),
    ],
    [
      'status:final',
      () => deliverer.updateStatus(data.target, jobView(job.id!, data), { state: 'failed', reason }),
    ],
  ];
  if (streamed && !(run.error instanceof StreamBrokeOff)) {
    // The message the answer was to stream into says there is none, instead of "…" forever.
    reports.unshift([
      'answer:none',
      () => deliverer.postAnswer(data.target, `(No answer: ${reason})`, steps, streamed),
    ]);
  }
  for (const [step, report] of reports) {
    try {
      await steps.once(step, report);
    } catch (deliveryError) {
      services.logger.error(
        { jobId: job.id, step, err: errorText(deliveryError) },
        'could not report the failure',
      );
    }
  }
}
