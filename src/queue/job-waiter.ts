import { Job, QueueEvents } from 'bullmq';
import { readFailedReason } from '../core/job-failure.js';
import type { JobOutcome, JobStatus } from '../core/jobs.js';
import type { JobProducer } from './job-producer.js';
import { QUEUE_NAMES } from './queue-names.js';
import { createRedis } from './redis-connection.js';

/** `code`: the failure's stable code when it has one (`unauthorized`, `not_configured`, …; see `job-failure.ts`). */
export type WaitResult =
  | { ok: true; outcome: JobOutcome }
  | { ok: false; reason: string; code: string | undefined };

/**
 * Listens to a queue's events, lets `start` queue the job (or decide not to), and waits for the job to finish,
 * reporting its progress: what `lorabot run` does as a client of the same queue the chat platforms use. The
 * listener is ready before `start` runs, so no progress is missed. Undefined when `start` queued nothing.
 */
export async function startAndWait(options: {
  producer: JobProducer;
  redisUrl: string;
  prefix: string;
  kind: 'flux' | 'ask';
  jobId: string;
  /** Queues the job; false when it did not (a refusal, an answer given at once). */
  start: () => Promise<boolean>;
  onStatus: (status: JobStatus) => void;
  timeoutMs: number;
}): Promise<WaitResult | undefined> {
  const { producer, jobId } = options;
  const connection = createRedis(options.redisUrl, 'worker', 'run-events');
  const queueName = options.kind === 'flux' ? QUEUE_NAMES.image : QUEUE_NAMES.chat;
  const events = new QueueEvents(queueName, { connection, prefix: options.prefix });
  try {
    await events.waitUntilReady();
    events.on('progress', ({ jobId: id, data: progress }) => {
      if (id === jobId && progress && typeof progress === 'object') options.onStatus(progress as JobStatus);
    });
    if (!(await options.start())) return undefined;
    const queue = producer.queueFor(options.kind);
    try {
      const job = await Job.fromId(queue, jobId);
      if (!job) throw new Error(`job ${jobId} is not in the queue`);
      const outcome = (await job.waitUntilFinished(events, options.timeoutMs)) as JobOutcome;
      return { ok: true, outcome };
    } catch (error) {
      const failed = await Job.fromId(queue, jobId);
      const { reason, code } = readFailedReason(
        failed?.failedReason || (error instanceof Error ? error.message : String(error)),
      );
      return { ok: false, reason, code };
    }
  } finally {
    await events.close();
    connection.disconnect();
  }
}
