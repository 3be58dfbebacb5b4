import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type {
  ChatJobData,
  Deliverer,
  DeliveryTarget,
  ImageJobData,
  JobData,
  JobOutcome,
} from '../core/jobs.js';
import { jobView } from '../core/jobs.js';
import { NO_TELEMETRY, type Telemetry } from '../core/ports.js';
import { runChatJob } from './chat-job.js';
import { runImageJob } from './image-job.js';
import {
  cancelledBy,
  handleFailure,
  JobCancelled,
  onJobEnded,
  reportCancelled,
  reportQueueFailure,
} from './job-failures.js';
import type { Ledger } from './ledger.js';
import { QUEUE_NAMES } from './queue-names.js';
import { errorText, type WorkerDependencies, WorkerServices } from './worker-services.js';

export interface QueueLimits {
  concurrency: number;
  /** At most `max` jobs started per `durationMs` (BullMQ's limiter, shared by every worker on the Redis). */
  rateLimit: { max: number; durationMs: number };
}

export interface JobWorkerOptions extends WorkerDependencies {
  /** Lock and stalled-job settings (BullMQ). */
  recovery: { lockMs: number; stalledIntervalMs: number; maxStalledCount: number };
  deliverers: { [P in DeliveryTarget['platform']]?: Deliverer<Extract<DeliveryTarget, { platform: P }>> };
  limits: { image: QueueLimits; chat: QueueLimits };
  telemetry?: Telemetry;
  /** Stored on each job as `processedBy`. */
  name?: string;
  now?: () => number;
}

/**
 * The worker side: one BullMQ Worker per queue, each job run as checkpointed steps. The provider's result is
 * saved before any delivery, each delivery step is remembered, and the charge is written once, so a job retried
 * after a crash neither calls Together again nor posts twice nor charges twice. The steps themselves are in
 * image-job.ts, chat-job.ts and job-failures.ts.
 */
export class JobWorkers {
  readonly image: Worker<JobData, JobOutcome>;
  readonly chat: Worker<JobData, JobOutcome>;
  private readonly services: WorkerServices;
  /** Listens for cancellations (a connection in subscriber mode can do nothing else). */
  private readonly subscriber: Redis;
  private closed = false;

  constructor(private readonly options: JobWorkerOptions) {
    this.services = new WorkerServices(options, options.telemetry ?? NO_TELEMETRY, options.now ?? Date.now);
    const make = (name: string, limits: QueueLimits) =>
      new Worker<JobData, JobOutcome>(name, (job, _token, signal) => this.process(job, signal), {
        connection: options.connection,
        prefix: options.keys.prefix,
        concurrency: limits.concurrency,
        ...(options.name ? { name: options.name } : {}),
        lockDuration: options.recovery.lockMs,
        stalledInterval: options.recovery.stalledIntervalMs,
        maxStalledCount: options.recovery.maxStalledCount,
        limiter: { max: limits.rateLimit.max, duration: limits.rateLimit.durationMs },
      });
    this.image = make(QUEUE_NAMES.image, options.limits.image);
    this.chat = make(QUEUE_NAMES.chat, options.limits.chat);
    for (const worker of [this.image, this.chat]) {
      worker.on('error', (error) => options.logger.error({ err: error.message }, 'worker error'));
      worker.on('failed', (job, error) => {
        if (job) this.onFailed(job, error);
      });
    }
    this.subscriber = this.listenForCancellations();
  }

  get ledgerView(): Ledger {
    return this.services.ledger;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.image.close(), this.chat.close()]);
    this.subscriber.disconnect();
  }

  /** Aborts a running job when the gateway publishes its id on the cancel channel. */
  private listenForCancellations(): Redis {
    const { connection, keys, logger } = this.options;
    const subscriber = connection.duplicate();
    subscriber.on('error', (error) => logger.warn({ err: error.message }, 'cancel listener: Redis error'));
    subscriber.on('message', (_channel: string, jobId: string) => {
      if (this.image.cancelJob(jobId, 'cancelled') || this.chat.cancelJob(jobId, 'cancelled')) {
        logger.info({ jobId }, 'aborting a cancelled job');
      }
    });
    subscriber.subscribe(keys.cancelChannel()).catch((error: unknown) => {
      logger.error({ err: errorText(error) }, 'could not listen for cancellations');
    });
    return subscriber;
  }

  private async process(job: Job<JobData, JobOutcome>, signal?: AbortSignal): Promise<JobOutcome> {
    const { services } = this;
    const id = job.id!;
    const data = job.data;
    const deliverer = this.delivererFor(data.target);
    const steps = services.journal.forJob(id);
    const run = { deliverer, steps, signal };
    const log = { jobId: id, kind: data.kind, platform: data.target.platform, attempt: job.attemptsMade + 1 };
    this.options.logger.info(log, 'job started');
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    try {
      const cancelled = await this.options.connection.get(this.options.keys.cancelled(id));
      if (cancelled !== null) throw new JobCancelled(cancelled);
      await job.updateProgress({ state: 'running' });
      await steps.once('status:running', () =>
        deliverer.updateStatus(data.target, jobView(id, data), { state: 'running' }),
      );
      const outcome =
        data.kind === 'flux'
          ? await runImageJob(services, job as Job<ImageJobData>, run)
          : await runChatJob(services, job as Job<ChatJobData>, run);
      await services.journal.dropCheckpoint(id);
      await onJobEnded(services, job, 'done');
      this.options.logger.info({ ...log, costMicros: outcome.costMicros }, 'job done');
      services.telemetry.job(data.kind, 'done', seconds());
      await services.recordDuration(data.kind, seconds());
      return outcome;
    } catch (error) {
      const by = await cancelledBy(services, id, { error, signal });
      if (by !== undefined) {
        await reportCancelled(services, job, { deliverer, steps, by });
        services.telemetry.job(data.kind, 'cancelled', seconds());
        throw new UnrecoverableError('cancelled');
      }
      const failure = await handleFailure(services, job, { deliverer, steps, error });
      services.telemetry.job(
        data.kind,
        failure instanceof UnrecoverableError ? 'failed' : 'retried',
        seconds(),
      );
      throw failure;
    }
  }

  /**
   * BullMQ's `failed` event, for every failed attempt this worker saw, including jobs BullMQ failed without
   * running the processor (see `reportQueueFailure`, which leaves alone those already reported or to be retried).
   */
  private onFailed(job: Job<JobData, JobOutcome>, error: Error): void {
    const { services } = this;
    reportQueueFailure(services, job, { deliverer: () => this.delivererFor(job.data.target), error })
      .then((reported) => {
        const ran = job.processedOn ? (Date.now() - job.processedOn) / 1000 : 0;
        if (reported) services.telemetry.job(job.data.kind, 'failed', ran);
      })
      .catch((failure: unknown) =>
        this.options.logger.error(
          { jobId: job.id, err: errorText(failure) },
          'could not report a job the queue failed',
        ),
      );
  }

  private delivererFor(target: DeliveryTarget): Deliverer {
    const deliverer = this.options.deliverers[target.platform] as Deliverer | undefined;
    if (!deliverer)
      throw new UnrecoverableError(`No ${target.platform} deliverer is configured in this worker`);
    return deliverer;
  }
}
