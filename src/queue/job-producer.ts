import { type Job, Queue } from 'bullmq';
import type { Requester } from '../core/budget.js';
import type { IntakeRecord } from '../core/intake.js';
import {
  type CancelOutcome,
  type FoundJob,
  type JobData,
  type JobQueue,
  type ListedJob,
  requesterOf,
} from '../core/jobs.js';
import { IntakeStore, type KeptToken } from './intake-store.js';
import { InteractionTokenStore } from './interaction-tokens.js';
import { JOB_NAMES, QUEUE_NAMES, type QueueKind } from './queue-names.js';
import type { RedisClient } from './redis-connection.js';
import type { RedisKeys } from './redis-keys.js';

export interface JobOptions {
  attempts: number;
  backoffMs: number;
  keepCompletedSeconds: number;
  keepFailedSeconds: number;
  /** Jobs run at once per worker, by kind: for rough ETAs. */
  concurrency?: { flux: number; ask: number };
}

const QUEUED_STATES = new Set(['waiting', 'delayed', 'prioritized', 'waiting-children']);
/** `/flux jobs` looks at this many of the oldest queued and running jobs of each kind. */
const LISTING_WINDOW = 1000;

/**
 * The gateway's side of the queues: claims a platform request once, tells its place in line, and adds the job
 * under an id derived from the platform's request id, so a repeated delivery cannot make a second job.
 */
/** The score of one priority level in BullMQ's prioritized set (`getCountsPerPriority` counts the same way). */
const PRIORITY_SCORE = 0x100000000;

export class JobProducer implements JobQueue {
  readonly queues: Record<QueueKind, Queue>;
  /** Where the interaction tokens of the jobs it adds are kept (never in job data). */
  readonly interactionTokens: InteractionTokenStore;
  /** Claims and the intake records written with them. */
  readonly intake: IntakeStore;
  private closed = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly options: JobOptions,
  ) {
    const common = { connection: redis, prefix: keys.prefix };
    this.queues = { image: new Queue(QUEUE_NAMES.image, common), chat: new Queue(QUEUE_NAMES.chat, common) };
    this.interactionTokens = new InteractionTokenStore(redis, keys);
    this.intake = new IntakeStore(redis, keys);
  }

  /**
   * True the first time a platform request is seen (for a day); false for a redelivery. With a record, the claim
   * writes it in the same step (a Discord interaction's token apart from it, until it expires).
   */
  async claim(requestKey: string, record?: IntakeRecord): Promise<boolean> {
    const kept = record ? keepToken(record, this.keys.interactionToken(requestKey), Date.now()) : undefined;
    return this.intake.claim(requestKey, kept?.record, kept?.token);
  }

  /** The request's job is queued (or it was refused): its intake record goes, its claim stays. */
  async settle(requestKey: string): Promise<void> {
    await this.intake.clear(requestKey);
  }

  /** Lets a request be tried again after it could not be queued. */
  async release(requestKey: string): Promise<void> {
    await this.intake.release(requestKey);
  }

  /**
   * The place a new job would take in its queue (1: next). BullMQ runs jobs without a priority first, then
   * prioritized ones by priority (lower first), each in the order they came: a job of priority `p` goes after
   * every queued job of priority 0 to `p`.
   * @see https://docs.bullmq.io/guide/jobs/prioritized
   */
  async position(kind: JobData['kind'], priority?: number): Promise<number> {
    const queue = this.queueFor(kind);
    if (priority === undefined) {
      const [waiting, prioritized] = await Promise.all([
        queue.getWaitingCount(),
        queue.getPrioritizedCount(),
      ]);
      return waiting + prioritized + 1;
    }
    // BullMQ scores a prioritized job `priority * 2^32 + counter`, so the jobs of priority 1 to `priority` are one
    // score range: one ZCOUNT, where `getCountsPerPriority` runs one per level (hundreds for a long burst).
    const [waiting, ahead] = await Promise.all([
      queue.getWaitingCount(),
      this.redis.zcount(queue.keys.prioritized!, PRIORITY_SCORE, (priority + 1) * PRIORITY_SCORE - 1),
    ]);
    return waiting + ahead + 1;
  }

  async enqueue(jobId: string, data: JobData, options: { priority?: number } = {}): Promise<Job<JobData>> {
    const stored = await this.interactionTokens.stash(jobId, data);
    return this.queueFor(data.kind).add(JOB_NAMES[data.kind], stored, {
      jobId,
      ...(options.priority ? { priority: options.priority } : {}),
      attempts: this.options.attempts,
      backoff: { type: 'exponential', delay: this.options.backoffMs },
      removeOnComplete: { age: this.options.keepCompletedSeconds },
      removeOnFail: { age: this.options.keepFailedSeconds },
    });
  }

  async find(jobId: string): Promise<FoundJob | undefined> {
    const job = await this.jobById(jobId);
    if (!job) return undefined;
    const state = await job.getState();
    return {
      data: job.data,
      state: state === 'active' ? 'running' : QUEUED_STATES.has(state) ? 'queued' : 'ended',
    };
  }

  /**
   * Marks the job cancelled (a worker checks the mark before it starts a job), removes it if it is still queued,
   * and otherwise tells every worker to abort it: the one running it aborts the Together request.
   */
  async cancel(jobId: string, by: string): Promise<CancelOutcome> {
    const job = await this.jobById(jobId);
    if (!job) return 'unknown';
    const state = await job.getState();
    if (state === 'completed' || state === 'failed') return 'ended';
    await this.redis.set(this.keys.cancelled(jobId), by, 'EX', 86_400);
    if (QUEUED_STATES.has(state)) {
      try {
        await job.remove();
        return 'removed';
      } catch {
        // A worker took it in the meantime: it is running now, so abort it there.
      }
    }
    await this.redis.publish(this.keys.cancelChannel(), jobId);
    return 'stopping';
  }

  async jobsOf(requester: Requester): Promise<ListedJob[]> {
    const listed: ListedJob[] = [];
    for (const kind of ['flux', 'ask'] as const) {
      const queue = this.queueFor(kind);
      const [active, queued, durations] = await Promise.all([
        queue.getJobs(['active'], 0, LISTING_WINDOW - 1, true),
        queue.getJobs(['prioritized', 'waiting'], 0, LISTING_WINDOW - 1, true),
        this.redis.lrange(this.keys.durations(kind), 0, -1),
      ]);
      const average =
        durations.length === 0
          ? undefined
          : durations.reduce((sum, value) => sum + Number(value), 0) / durations.length;
      const concurrency = this.options.concurrency?.[kind] ?? 1;
      const mine = (job: Job<JobData> | undefined): job is Job<JobData> => {
        const target = job?.data?.target;
        if (target === undefined) return false;
        const owner = requesterOf(target);
        return (
          owner.platform === requester.platform &&
          owner.userId === requester.userId &&
          owner.workspaceId === requester.workspaceId
        );
      };
      for (const job of active.filter(mine)) {
        const elapsed = (Date.now() - (job.processedOn ?? Date.now())) / 1000;
        listed.push({
          jobId: job.id!,
          data: job.data,
          state: 'running',
          position: 0,
          etaSeconds: average === undefined ? undefined : Math.max(1, Math.round(average - elapsed)),
        });
      }
      queued.forEach((job, index) => {
        if (!mine(job)) return;
        const position = index + 1;
        listed.push({
          jobId: job.id!,
          data: job.data,
          state: 'queued',
          position,
          etaSeconds:
            average === undefined ? undefined : Math.round(average * (Math.ceil(position / concurrency) + 1)),
        });
      });
    }
    return listed;
  }

  /** For the sweep of reservations: whether a job has ended (completed or failed), is gone, or may still run. */
  async jobEnded(jobId: string, kind: JobData['kind']): Promise<'ended' | 'gone' | 'live'> {
    const state = await this.queueFor(kind).getJobState(jobId);
    if (state === 'unknown') return 'gone';
    return state === 'completed' || state === 'failed' ? 'ended' : 'live';
  }

  private async jobById(jobId: string): Promise<Job<JobData> | undefined> {
    for (const queue of [this.queues.image, this.queues.chat]) {
      const job = (await queue.getJob(jobId)) as Job<JobData> | undefined;
      if (job) return job;
    }
    return undefined;
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

/** The record without a Discord interaction's token, which is kept under `key` (as the job's is) until it expires. */
function keepToken(
  record: IntakeRecord,
  key: string,
  now: number,
): { record: IntakeRecord; token?: KeptToken } {
  const origin = record.origin;
  const interaction =
    origin.platform === 'discord' && origin.via === 'interaction' && origin.target.interaction;
  if (!interaction || interaction.token === undefined) return { record };
  const { token, ...kept } = interaction;
  const lifeMs = kept.expiresAt - now;
  const target = { ...origin.target, interaction: { ...kept, tokenRef: record.requestKey } };
  return {
    record: { ...record, origin: { ...origin, target } },
    ...(lifeMs > 0 ? { token: { key, token, lifeMs } } : {}),
  };
}
