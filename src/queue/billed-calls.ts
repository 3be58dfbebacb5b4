import { randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import type { JobData } from '../core/jobs.js';
import type { AttemptHooks } from '../core/ports.js';
import { callCostWithoutResult, savedResultCost } from './job-costs.js';
import type { WorkerServices } from './worker-services.js';

/**
 * One Together call of a job: the call itself (given the hooks that keep the journal's mark to the time a request
 * may be at Together), and what of its result the journal keeps.
 */
export interface JournaledCall<Result, Saved> {
  run: (attempts: AttemptHooks) => Promise<Result>;
  save: (result: Result) => Saved;
}

/**
 * Calls Together for a job, with the call marked started in the journal before the request is sent and the
 * result saved (clearing the mark) after. A mark an earlier attempt left means its worker stopped during the
 * call: Together may have done and billed that work, so it gets its own ledger entry (once, keyed by that
 * attempt) before the call is made again, and the requester still gets a result. A call that returns an error
 * clears its mark (the job's failure path decides what that error costs), and so does each failed attempt the
 * client waits to retry: each attempt is marked apart.
 */
export async function callTogether<Result, Saved>(
  services: WorkerServices,
  job: Job<JobData>,
  call: JournaledCall<Result, Saved>,
): Promise<Saved> {
  const id = job.id!;
  // Charge the lost call before the mark is overwritten: a crash in between finds the same mark again.
  await chargeLostCall(services, job);
  const mark = () => services.journal.startCall(id, { attemptId: randomUUID(), at: Date.now() });
  await mark();
  // Between attempts nothing is at Together (a 429 or 5xx came back): a worker stopped while waiting to try again
  // left no call Together may have billed.
  const attempts: AttemptHooks = { waiting: () => services.journal.endCall(id), resuming: mark };
  let result: Result;
  try {
    result = await call.run(attempts);
  } catch (error) {
    await services.journal.endCall(id);
    throw error;
  }
  const saved = call.save(result);
  await services.journal.saveCheckpoint(id, saved);
  return saved;
}

/** Charges the call an earlier attempt began and never finished, if there is one (once per such call). */
export async function chargeLostCall(services: WorkerServices, job: Job<JobData>): Promise<void> {
  const start = await services.journal.startedCall(job.id!);
  if (!start) return;
  services.logger.warn(
    { jobId: job.id, callId: start.attemptId },
    'an earlier Together call of this job was lost with its worker; charging it as possibly billed',
  );
  await services.chargePossiblyBilled(job, callCostWithoutResult(services, job.data), start.attemptId);
}

/**
 * Charges what Together may have billed for a job that ends without success: a call a stopped worker lost (its own
 * entry), and a result that was saved but never delivered (the job's one charge, with `why`).
 */
export async function chargeWhatWasBilled(
  services: WorkerServices,
  job: Job<JobData>,
  why: string,
): Promise<void> {
  await chargeLostCall(services, job);
  const saved = await services.journal.loadCheckpoint(job.id!);
  if (saved !== undefined) await services.chargeBilled(job, savedResultCost(services, job.data, saved), why);
}
