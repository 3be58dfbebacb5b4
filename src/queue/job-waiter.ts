import { Job, QueueEvents } from 'bullmq';
import { readFailedReason } from '../core/job-failure.js';
import type { JobData, JobOutcome, JobStatus } from '../core/jobs.js';
import type { JobProducer } from './job-producer.js';
import { QUEUE_NAMES } from './queue-names.js';
import { createRedis } from './redis-connection.js';

/** `code`: the failure's stable code when it has one (`unauthorized`, `not_configured`, …; see `job-failure.ts`). */
export type WaitResult =
  | { ok: true; outcome: JobOutcome }
  | { ok: false; reason: string; code: string | undefined };

/**
 * Adds a job and waits for it, reporting progress: what `lorabot run` does as a client of the same queue the
 * chat platforms use.
 */
export async function enqueueAndWait(options: {
  producer: JobProducer;
  redisUrl: string;
  prefix: string;
  jobId: string;
  data: JobData;
  onStatus: (status: JobStatus) => void;
  timeoutMs: number;
}): Promise<WaitResult> {
  const { producer, data, jobId } = options;
  const queueName = data.kind === 'flux' ? QUEUE_NAMES.image : QUEUE_NAMES.chat;
  const connection = createRedis(options.redisUrl, 'worker', 'run-events');
  const events = new QueueEvents(queueName, { connection, prefix: options.prefix });
  try {
    await events.waitUntilReady();
    events.on('progress', ({ jobId: id, data: progress }) => {
      if (id === jobId && progress && typeof progress === 'object') options.onStatus(progress as JobStatus);
    });
    options.onStatus({ state: 'queued', position: await producer.position(data.kind) });
    const job = await producer.enqueue(jobId, data);
    try {
      const outcome = (await job.waitUntilFinished(events, options.timeoutMs)) as JobOutcome;
      return { ok: true, outcome };
    } catch (error) {
      const failed = await Job.fromId(producer.queueFor(data.kind), jobId);
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
