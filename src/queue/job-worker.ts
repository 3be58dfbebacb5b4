import { type Job, UnrecoverableError, WaitingError, Worker } from 'bullmq';
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
import type { RedisClient } from './redis-connection.js';
import { errorText, type WorkerDependencies, WorkerServices } from './worker-services.js';

/** The abort reason of a job handed back on shutdown. */
const HANDED_BACK = 'handed back on shutdown';
/** After aborting the jobs still running at the end of the grace period, how long they have to stop. */
const ABORT_WAIT_MS = 500;
/** On close, how long the BullMQ workers' connections may take to finish starting before they are closed anyway. */
const READY_WAIT_MS = 1000;

/** True when `promise` settles within `ms`; it keeps running either way. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export interface QueueLimits {
  concurrency: number;
  /** At most `max` jobs started per `durationMs` (BullMQ's limiter, shared by every worker on the Redis). */
  rateLimit: { max: number; durationMs: number };
}

export interface JobWorkerOptions extends WorkerDependencies {
  /**
   * Lock and stalled-job settings (BullMQ), and how long `close()` lets running jobs finish before handing them
   * back to the queue (default 0: at once).
   */
  recovery: { lockMs: number; stalledIntervalMs: number; maxStalledCount: number; shutdownGraceMs?: number };
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
  private readonly subscriber: RedisClient;
  /** The jobs this process is running, with the lock token that lets it hand them back. */
  private readonly running = new Map<Job<JobData, JobOutcome>, string>();
  /** Past the grace period: a job that stops now goes back to the queue. */
  private stopping = false;
  /** Jobs moved back to the queue while their processor was stuck: what it does next must not touch them. */
  private readonly abandoned = new Set<Job<JobData, JobOutcome>>();
  private closing: Promise<void> | undefined;

  constructor(private readonly options: JobWorkerOptions) {
    this.services = new WorkerServices(options, options.telemetry ?? NO_TELEMETRY, options.now ?? Date.now);
    const make = (name: string, limits: QueueLimits) =>
      new Worker<JobData, JobOutcome>(name, (job, token, signal) => this.track(job, token, signal), {
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

  /**
   * Stops taking jobs and lets running ones finish for `recovery.shutdownGraceMs`. Then it aborts what is still
   * running; each aborted job goes back to the queue (active → wait, so the next worker takes it at once instead
   * of after its lock expires). A job stuck in a call that takes no signal is moved back without waiting for it.
   * A handed-back job keeps its journal: if Together had answered, the next worker delivers the saved result
   * without calling Together again. Idempotent: every call waits for the same run.
   */
  close(): Promise<void> {
    this.closing ??= this.stop();
    return this.closing;
  }

  private async stop(): Promise<void> {
    const { logger, recovery } = this.options;
    const graceMs = recovery.shutdownGraceMs ?? 0;
    // A BullMQ worker closed while its blocking connection is still being set up leaves that connection's first
    // commands to fail with "Connection is closed" where nothing awaits them (an unhandled rejection): let it
    // finish starting first, for a moment at most (with Redis away it never will).
    const ready = Promise.all([this.image.waitUntilReady(), this.chat.waitUntilReady()]);
    await settlesWithin(
      ready.catch(() => undefined),
      READY_WAIT_MS,
    );
    const closed = Promise.all([this.image.close(), this.chat.close()]);
    if (this.running.size > 0) {
      logger.info({ jobs: this.running.size, graceMs }, 'waiting for running jobs before stopping');
    }
    if (!(await settlesWithin(closed, graceMs))) {
      this.stopping = true;
      this.image.cancelAllJobs(HANDED_BACK);
      this.chat.cancelAllJobs(HANDED_BACK);
      if (!(await settlesWithin(closed, ABORT_WAIT_MS))) {
        // Left behind as the process exits; whatever the processor does next, the job is no longer ours.
        for (const job of this.running.keys()) {
          this.abandoned.add(job);
          await this.handBack(job);
        }
      }
    }
    this.subscriber.disconnect();
  }

  /** Moves a job this worker holds back to the queue, for the next worker to take at once. */
  private async handBack(job: Job<JobData, JobOutcome>): Promise<void> {
    const token = this.running.get(job);
    try {
      await job.moveToWait(token);
      this.options.logger.warn({ jobId: job.id, kind: job.data.kind }, 'job handed back to the queue');
    } catch (error) {
      // The lock is gone (expired, or the job ended meanwhile): the stalled-job check recovers it if needed.
      this.options.logger.warn({ jobId: job.id, err: errorText(error) }, 'could not hand a job back');
    }
  }

  /** Runs a job, knowing it is running here (with the lock token that lets it be handed back). */
  private async track(job: Job<JobData, JobOutcome>, token: string | undefined, signal?: AbortSignal) {
    if (token) this.running.set(job, token);
    try {
      return await this.process(job, signal);
    } finally {
      this.running.delete(job);
    }
  }

  /** Aborts a running job when the gateway publishes its id on the cancel channel. */
  private listenForCancellations(): RedisClient {
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
      // A preset added a moment ago that this process has not heard of yet: read the presets once more.
      if (data.kind === 'ask' && !this.options.settings.chat.models[data.request.model])
        await this.options.models?.refresh().catch(() => undefined);
      // Only `lorabot run` follows a job's progress (job-waiter.ts); a chat platform is shown its status message.
      if (data.target.platform === 'cli') await job.updateProgress({ state: 'running' });
      await steps.once('status:running', () =>
        deliverer.updateStatus(data.target, jobView(id, data), { state: 'running' }),
      );
      const outcome =
        data.kind === 'flux'
          ? await runImageJob(services, job as Job<ImageJobData>, run)
          : await runChatJob(services, job as Job<ChatJobData>, run);
      // Done after being handed back: the next worker owns the job and still needs the saved result.
      if (this.abandoned.has(job)) throw new WaitingError(HANDED_BACK);
      await services.settleResult(job);
      await onJobEnded(services, job, 'done', { deliverer, costText: outcome.costText });
      this.options.logger.info({ ...log, costMicros: outcome.costMicros }, 'job done');
      services.telemetry.job(data.kind, 'done', seconds());
      await services.recordDuration(data.kind, seconds());
      return outcome;
    } catch (error) {
      // Stopped by the shutdown: back to the queue with no failure message and no retry counted (BullMQ leaves
      // a job that ends in a WaitingError where the processor put it).
      if (this.abandoned.has(job)) throw new WaitingError(HANDED_BACK);
      if (this.stopping && signal?.aborted) {
        await this.handBack(job);
        throw new WaitingError(HANDED_BACK);
      }
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
