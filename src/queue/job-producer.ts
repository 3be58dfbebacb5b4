import { type Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { JobData, JobQueue } from '../core/jobs.js';
import { JOB_NAMES, QUEUE_NAMES, type QueueKind } from './queue-names.js';
import type { RedisKeys } from './redis-keys.js';

export interface JobOptions {
  attempts: number;
  backoffMs: number;
  keepCompletedSeconds: number;
  keepFailedSeconds: number;
}

/**
 * The gateway's side of the queues: claims a platform request once, tells its place in line, and adds the job
 * under an id derived from the platform's request id, so a repeated delivery cannot make a second job.
 */
export class JobProducer implements JobQueue {
  readonly queues: Record<QueueKind, Queue>;
  private closed = false;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly options: JobOptions,
  ) {
    const common = { connection: redis, prefix: keys.prefix };
    this.queues = { image: new Queue(QUEUE_NAMES.image, common), chat: new Queue(QUEUE_NAMES.chat, common) };
  }

  /** True the first time a platform request is seen (for a day); false for a redelivery. */
  async claim(requestKey: string): Promise<boolean> {
    return (await this.redis.set(this.keys.claim(requestKey), '1', 'EX', 86_400, 'NX')) === 'OK';
  }

  /** Lets a request be tried again after it could not be queued. */
  async release(requestKey: string): Promise<void> {
    await this.redis.del(this.keys.claim(requestKey));
  }

  /** The place a new job would take in its queue (1: next). */
  async position(kind: JobData['kind']): Promise<number> {
    const queue = this.queueFor(kind);
    const [waiting, prioritized] = await Promise.all([queue.getWaitingCount(), queue.getPrioritizedCount()]);
    return waiting + prioritized + 1;
  }

  async enqueue(jobId: string, data: JobData): Promise<Job<JobData>> {
    return this.queueFor(data.kind).add(JOB_NAMES[data.kind], data, {
      jobId,
      attempts: this.options.attempts,
      backoff: { type: 'exponential', delay: this.options.backoffMs },
      removeOnComplete: { age: this.options.keepCompletedSeconds },
      removeOnFail: { age: this.options.keepFailedSeconds },
    });
  }

  queueFor(kind: JobData['kind']): Queue {
    return kind === 'flux' ? this.queues.image : this.queues.chat;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.queues.image.close(), this.queues.chat.close()]);
  }
}
