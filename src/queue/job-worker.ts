import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type {
  ChatJobData,
  Deliverer,
  DeliveryTarget,
  ImageJobData,
  JobData,
  JobOutcome,
  Notice,
} from '../core/jobs.js';
import { isProviderFailure } from '../core/lorabot-error.js';
import {
  type ChatProvider,
  type ChatResult,
  type ImageProvider,
  type Logger,
  NO_TELEMETRY,
  type Telemetry,
} from '../core/ports.js';
import { type Cost, priceChat, priceImage } from '../core/pricing.js';
import type { CoreSettings } from '../core/settings.js';
import { Ledger, type LedgerEntry } from './ledger.js';
import { QUEUE_NAMES } from './queue-names.js';
import type { RedisKeys } from './redis-keys.js';
import { StepJournal, type Steps } from './step-journal.js';

export interface QueueLimits {
  concurrency: number;
  /** At most `max` jobs started per `durationMs` (BullMQ's limiter, shared by every worker on the Redis). */
  rateLimit: { max: number; durationMs: number };
}

export interface JobWorkerOptions {
  connection: Redis;
  /** Lock and stalled-job settings (BullMQ). */
  recovery: { lockMs: number; stalledIntervalMs: number; maxStalledCount: number };
  keys: RedisKeys;
  settings: CoreSettings;
  images: ImageProvider;
  chat: ChatProvider;
  deliverers: { [P in DeliveryTarget['platform']]?: Deliverer<Extract<DeliveryTarget, { platform: P }>> };
  limits: { image: QueueLimits; chat: QueueLimits };
  logger: Logger;
  telemetry?: Telemetry;
  /** Stored on each job as `processedBy`. */
  name?: string;
  now?: () => number;
}

interface ImageCheckpoint {
  images: Array<{ mimeType: string; base64: string }>;
  requestId: string | undefined;
}

/**
 * The worker side: one BullMQ Worker per queue, each job run as checkpointed steps. The provider's result is
 * saved before any delivery, each delivery step is remembered, and the charge is written once, so a job retried
 * after a crash neither calls Together again nor posts twice nor charges twice.
 */
export class JobWorkers {
  readonly image: Worker<JobData, JobOutcome>;
  readonly chat: Worker<JobData, JobOutcome>;
  private readonly journal: StepJournal;
  private readonly ledger: Ledger;
  private readonly now: () => number;
  private readonly telemetry: Telemetry;
  private closed = false;

  constructor(private readonly options: JobWorkerOptions) {
    this.telemetry = options.telemetry ?? NO_TELEMETRY;
    this.journal = new StepJournal(options.connection, options.keys);
    this.ledger = new Ledger(options.connection, options.keys);
    this.now = options.now ?? Date.now;
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
    }
  }

  get ledgerView(): Ledger {
    return this.ledger;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.image.close(), this.chat.close()]);
  }

  private async process(job: Job<JobData, JobOutcome>, signal?: AbortSignal): Promise<JobOutcome> {
    const id = job.id!;
    const data = job.data;
    const deliverer = this.delivererFor(data.target);
    const steps = this.journal.forJob(id);
    const log = { jobId: id, kind: data.kind, platform: data.target.platform, attempt: job.attemptsMade + 1 };
    this.options.logger.info(log, 'job started');
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    try {
      await job.updateProgress({ state: 'running' });
      await steps.once('status:running', () =>
        deliverer.updateStatus(data.target, data.command, { state: 'running' }),
      );
      const outcome =
        data.kind === 'flux'
          ? await this.runImage(job as Job<ImageJobData>, deliverer, steps, signal)
          : await this.runChat(job as Job<ChatJobData>, deliverer, steps, signal);
      await this.journal.dropCheckpoint(id);
      this.options.logger.info({ ...log, costMicros: outcome.costMicros }, 'job done');
      this.telemetry.job(data.kind, 'done', seconds());
      return outcome;
    } catch (error) {
      const failure = await this.handleFailure(job, deliverer, steps, error);
      this.telemetry.job(data.kind, failure instanceof UnrecoverableError ? 'failed' : 'retried', seconds());
      throw failure;
    }
  }

  private async runImage(
    job: Job<ImageJobData>,
    deliverer: Deliverer,
    steps: Steps,
    signal: AbortSignal | undefined,
  ): Promise<JobOutcome> {
    const id = job.id!;
    const data = job.data;
    let checkpoint = await this.journal.loadCheckpoint<ImageCheckpoint>(id);
    if (!checkpoint) {
      const result = await this.timed('image', () =>
        this.options.images.generateImages(data.body, signal ? { signal } : {}),
      );
      checkpoint = {
        images: result.images.map((image) => ({
          mimeType: image.mimeType,
          base64: Buffer.from(image.bytes).toString('base64'),
        })),
        requestId: result.requestId,
      };
      await this.journal.saveCheckpoint(id, checkpoint);
    }
    const images = checkpoint.images.map((image) => ({
      mimeType: image.mimeType,
      bytes: Buffer.from(image.base64, 'base64'),
    }));
    const cost = priceImage(data.request, this.options.settings.image.pricing, String(data.body.model));
    await steps.once('images', () => deliverer.postImages(data.target, images, id));
    await this.finish(job, deliverer, steps, cost, String(data.body.model));
    const outcome: JobOutcome = { kind: 'flux', costMicros: cost.micros, costText: cost.text };
    if (data.target.platform === 'cli') outcome.images = checkpoint.images;
    return outcome;
  }

  private async runChat(
    job: Job<ChatJobData>,
    deliverer: Deliverer,
    steps: Steps,
    signal: AbortSignal | undefined,
  ): Promise<JobOutcome> {
    const id = job.id!;
    const data = job.data;
    let result = await this.journal.loadCheckpoint<ChatResult>(id);
    if (!result) {
      result = await this.timed('chat', () => this.options.chat.chat(data.body, signal ? { signal } : {}));
      await this.journal.saveCheckpoint(id, result);
    }
    const model = this.options.settings.chat.models[data.request.model];
    const usage = result.usage ?? {
      promptTokens: Math.ceil(JSON.stringify(data.body.messages ?? '').length / 4),
      completionTokens: Math.ceil(result.text.length / 4),
    };
    const cost = priceChat(
      { ...usage, estimated: !result.usage },
      model?.pricing ?? null,
      String(data.body.model),
    );
    const text =
      result.finishReason === 'length'
        ? `${result.text}\n\n(The answer reached the length limit.)`
        : result.text;
    await deliverer.postAnswer(data.target, text || '(The model returned an empty answer.)', steps);
    await this.finish(job, deliverer, steps, cost, String(data.body.model));
    return { kind: 'ask', costMicros: cost.micros, costText: cost.text, text: result.text };
  }

  private async finish(
    job: Job<JobData>,
    deliverer: Deliverer,
    steps: Steps,
    cost: Cost,
    model: string,
  ): Promise<void> {
    const data = job.data;
    if (await this.ledger.charge(this.entry(job, model, cost.micros, 'charged', cost.text))) {
      this.telemetry.spent(model, cost.micros);
    }
    const notice: Notice = { ok: true, kind: data.kind, text: cost.text };
    await steps.once('notify', () => deliverer.notify(data.target, notice));
    await steps.once('status:final', () =>
      deliverer.updateStatus(data.target, data.command, { state: 'done', costText: cost.text }),
    );
  }

  /**
   * Decides what a failure means for the job. Passing provider trouble is thrown back to BullMQ to retry with
   * backoff; anything else, or the last attempt, is reported once in the thread and ends the job.
   */
  private async handleFailure(
    job: Job<JobData>,
    deliverer: Deliverer,
    steps: Steps,
    error: unknown,
  ): Promise<Error> {
    const data = job.data;
    const provider = isProviderFailure(error) ? error : undefined;
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    const log = { jobId: job.id, kind: data.kind, attempt: job.attemptsMade + 1, err: errorText(error) };
    if (!provider) {
      // Not the provider: delivery or infrastructure. Let BullMQ retry; the journal keeps what was done.
      this.options.logger.warn(log, 'job step failed');
      if (!lastAttempt) return error instanceof Error ? error : new Error(String(error));
    } else if (provider.retryLater && !lastAttempt) {
      this.options.logger.warn(log, 'provider failed; the job will be retried');
      return provider;
    }
    this.options.logger.error(log, 'job failed');
    const reason =
      provider?.userMessage ??
      'Something went wrong delivering the result. An operator can find the details in the logs.';
    const model = String(data.body.model);
    // $0 for a failure unless Together certainly billed it (it answered 200 and the images were lost on the way).
    if (provider?.billed) {
      const charged = await this.ledger.charge(
        this.entry(
          job,
          model,
          data.estimateMicros,
          'billed-failed',
          'estimate: Together did the work, but the result could not be used',
        ),
      );
      if (charged) this.telemetry.spent(model, data.estimateMicros);
    }
    // Each report is tried on its own: a channel that refuses the notice may still take the status edit.
    const reports: Array<[string, () => Promise<void>]> = [
      ['notify', () => deliverer.notify(data.target, { ok: false, kind: data.kind, text: reason })],
      ['status:final', () => deliverer.updateStatus(data.target, data.command, { state: 'failed', reason })],
    ];
    for (const [step, report] of reports) {
      try {
        await steps.once(step, report);
      } catch (deliveryError) {
        this.options.logger.error(
          { jobId: job.id, step, err: errorText(deliveryError) },
          'could not report the failure',
        );
      }
    }
    return new UnrecoverableError(reason);
  }

  private entry(
    job: Job<JobData>,
    model: string,
    micros: number,
    status: LedgerEntry['status'],
    costText: string,
  ): LedgerEntry {
    const target = job.data.target;
    return {
      jobId: job.id!,
      at: new Date(this.now()).toISOString(),
      platform: target.platform,
      workspaceId:
        target.platform === 'slack' ? target.teamId : target.platform === 'discord' ? target.guildId : '',
      channelId: target.platform === 'cli' ? '' : target.channelId,
      userId: target.userId,
      kind: job.data.kind,
      model,
      micros,
      status,
      costText,
    };
  }

  /** Times a provider call for the metrics, success or failure. */
  private async timed<T>(kind: string, call: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const result = await call();
      this.telemetry.provider(kind, 'ok', (performance.now() - started) / 1000);
      return result;
    } catch (error) {
      const { status, code } = error as { status?: number; code?: string };
      this.telemetry.provider(kind, String(status ?? code ?? 'error'), (performance.now() - started) / 1000);
      throw error;
    }
  }

  private delivererFor(target: DeliveryTarget): Deliverer {
    const deliverer = this.options.deliverers[target.platform] as Deliverer | undefined;
    if (!deliverer)
      throw new UnrecoverableError(`No ${target.platform} deliverer is configured in this worker`);
    return deliverer;
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
