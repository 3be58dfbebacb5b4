import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { imageFileName } from '../core/image-files.js';
import { failedReasonText } from '../core/job-failure.js';
import {
  type ChatJobData,
  type Deliverer,
  type DeliveryTarget,
  type ImageJobData,
  type JobData,
  type JobOutcome,
  jobView,
  type Notice,
  requesterOf,
} from '../core/jobs.js';
import { isProviderFailure, type ProviderFailure } from '../core/lorabot-error.js';
import {
  type CallOptions,
  type ChatProvider,
  type ChatResult,
  type ImageProvider,
  type Logger,
  NO_TELEMETRY,
  type Telemetry,
} from '../core/ports.js';
import { type Cost, chatRates, priceChat, priceImage } from '../core/pricing.js';
import type { CoreSettings } from '../core/settings.js';
import { ThrottledEditor } from '../core/throttled-editor.js';
import { GatewayStore } from './gateway-store.js';
import { Ledger, type LedgerEntry } from './ledger.js';
import { QUEUE_NAMES } from './queue-names.js';
import type { RedisKeys } from './redis-keys.js';
import { StepJournal, type Steps } from './step-journal.js';

/** How many recent job durations ETAs are averaged over. */
const DURATION_SAMPLES = 20;

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
  private readonly store: GatewayStore;
  /** Listens for cancellations (a connection in subscriber mode can do nothing else). */
  private readonly subscriber: Redis;
  private closed = false;

  constructor(private readonly options: JobWorkerOptions) {
    this.telemetry = options.telemetry ?? NO_TELEMETRY;
    this.journal = new StepJournal(options.connection, options.keys);
    this.ledger = new Ledger(options.connection, options.keys);
    this.store = new GatewayStore(options.connection, options.keys);
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
    this.subscriber = options.connection.duplicate();
    this.subscriber.on('error', (error) =>
      options.logger.warn({ err: error.message }, 'cancel listener: Redis error'),
    );
    this.subscriber.on('message', (_channel: string, jobId: string) => {
      if (this.image.cancelJob(jobId, 'cancelled') || this.chat.cancelJob(jobId, 'cancelled')) {
        options.logger.info({ jobId }, 'aborting a cancelled job');
      }
    });
    this.subscriber.subscribe(options.keys.cancelChannel()).catch((error: unknown) => {
      options.logger.error({ err: errorText(error) }, 'could not listen for cancellations');
    });
  }

  get ledgerView(): Ledger {
    return this.ledger;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.image.close(), this.chat.close()]);
    this.subscriber.disconnect();
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
    const view = jobView(id, data);
    try {
      const cancelledBy = await this.options.connection.get(this.options.keys.cancelled(id));
      if (cancelledBy !== null) throw new JobCancelled(cancelledBy);
      await job.updateProgress({ state: 'running' });
      await steps.once('status:running', () =>
        deliverer.updateStatus(data.target, view, { state: 'running' }),
      );
      const outcome =
        data.kind === 'flux'
          ? await this.runImage(job as Job<ImageJobData>, deliverer, steps, signal)
          : await this.runChat(job as Job<ChatJobData>, deliverer, steps, signal);
      await this.journal.dropCheckpoint(id);
      this.options.logger.info({ ...log, costMicros: outcome.costMicros }, 'job done');
      this.telemetry.job(data.kind, 'done', seconds());
      await this.recordDuration(data.kind, seconds());
      return outcome;
    } catch (error) {
      const cancelledBy = await this.cancelledBy(id, error, signal);
      if (cancelledBy !== undefined) {
        await this.reportCancelled(job, deliverer, steps, cancelledBy);
        this.telemetry.job(data.kind, 'cancelled', seconds());
        throw new UnrecoverableError('cancelled');
      }
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
        this.options.images.generateImages(data.body, callOptions(data, signal)),
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
    const named = checkpoint.images.map((image, index) => ({
      ...image,
      fileName: imageFileName({
        mimeType: image.mimeType,
        seed: data.request.seed,
        jobId: id,
        index,
        count: checkpoint.images.length,
      }),
    }));
    const images = named.map(({ mimeType, fileName, base64 }) => ({
      mimeType,
      fileName,
      bytes: Buffer.from(base64, 'base64'),
    }));
    const cost = priceImage(data.request, this.options.settings.image.pricing, String(data.body.model));
    await steps.once('images', () => deliverer.postImages(data.target, images));
    await this.finish(job, deliverer, steps, cost, String(data.body.model));
    const outcome: JobOutcome = { kind: 'flux', costMicros: cost.micros, costText: cost.text };
    if (data.target.platform === 'cli') outcome.images = named;
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
    const streaming = deliverer.streaming;
    // The message a streamed answer grows in: opened once, found again by a retried job.
    const streamed = streaming
      ? await steps.value('answer:stream', () => streaming.open(data.target))
      : undefined;
    let result = await this.journal.loadCheckpoint<ChatResult>(id);
    if (!result) {
      result = streamed
        ? await this.streamAnswer(job, deliverer, steps, streamed, signal)
        : await this.timed('chat', () => this.options.chat.chat(data.body, callOptions(data, signal)));
      await this.journal.saveCheckpoint(id, result);
    }
    const cost = this.chatCost(data, result);
    const text =
      result.finishReason === 'length'
        ? `${result.text}\n\n(The answer reached the length limit.)`
        : result.text;
    await deliverer.postAnswer(data.target, text || '(The model returned an empty answer.)', steps, streamed);
    if (data.conversation && data.target.platform !== 'cli') {
      const ref = data.conversation;
      const aliases = [...ref.aliases, ...(streamed ? [streamed] : [])];
      await steps.once('conversation', () =>
        this.store.appendTurns(data.target.platform as 'slack' | 'discord', { ...ref, aliases }, [
          {
            role: 'user',
            content: data.request.question,
            userId: data.target.userId,
            model: data.request.model,
          },
          { role: 'assistant', content: result.text },
        ]),
      );
    }
    await this.finish(job, deliverer, steps, cost, String(data.body.model));
    return { kind: 'ask', costMicros: cost.micros, costText: cost.text, text: result.text };
  }

  /**
   * Streams the answer into one message, edited no faster than the platform allows. A stream that breaks off
   * after text arrived is not retried (that would write a different answer over it): the message keeps what
   * arrived, with a note, and the job ends there.
   */
  private async streamAnswer(
    job: Job<ChatJobData>,
    deliverer: Deliverer,
    steps: Steps,
    messageId: string,
    signal: AbortSignal | undefined,
  ): Promise<ChatResult> {
    const data = job.data;
    const streaming = deliverer.streaming!;
    const editor = new ThrottledEditor(
      (text) => streaming.preview(data.target, messageId, text),
      streaming.editIntervalMs,
      (error) =>
        this.options.logger.warn(
          { jobId: job.id, err: errorText(error) },
          'could not show the answer so far',
        ),
    );
    let partial = '';
    try {
      const result = await this.timed('chat', () =>
        this.options.chat.streamChat(data.body, {
          ...callOptions(data, signal),
          onDelta: (delta) => {
            partial += delta;
            editor.offer(partial);
          },
        }),
      );
      await editor.settle();
      return result;
    } catch (error) {
      await editor.settle();
      const failure = isProviderFailure(error) ? error : undefined;
      const cut = failure?.partialText;
      if (!failure || !cut || signal?.aborted) throw error;
      // What arrived stays, with a note; Together billed the tokens it generated.
      const note = `${cut}\n\n(${failure.userMessage} What arrived is above.)`;
      await deliverer.postAnswer(data.target, note, steps, messageId);
      const cost = this.chatCost(data, { text: cut, usage: undefined });
      await this.chargeBilled(job, cost.micros, `${cost.text} (the answer stopped partway)`);
      throw new StreamBrokeOff(failure.userMessage);
    }
  }

  private chatCost(data: ChatJobData, result: Pick<ChatResult, 'text' | 'usage'>): Cost {
    const model = this.options.settings.chat.models[data.request.model];
    const usage = result.usage ?? {
      promptTokens: Math.ceil(JSON.stringify(data.body.messages ?? '').length / 4),
      completionTokens: Math.ceil(result.text.length / 4),
    };
    const { settings } = this.options;
    const rates = chatRates(model?.pricing ?? null, String(data.body.model), settings.prices);
    return priceChat({ ...usage, estimated: !result.usage }, rates);
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
    await steps.once('notify', () => this.notify(deliverer, data.target, notice));
    await steps.once('status:final', () =>
      deliverer.updateStatus(data.target, jobView(job.id!, data), { state: 'done', costText: cost.text }),
    );
  }

  /** Tells the requester the way they chose (`/flux notify`): a mention in the thread, a DM, or nothing. */
  private async notify(deliverer: Deliverer, target: DeliveryTarget, notice: Notice): Promise<void> {
    if (target.platform === 'cli') return;
    const mode = await this.store.notifyMode(requesterOf(target));
    if (mode !== 'off') await deliverer.notify(target, notice, mode);
  }

  /** The user who cancelled the job, when that is why it stopped. */
  private async cancelledBy(
    jobId: string,
    error: unknown,
    signal: AbortSignal | undefined,
  ): Promise<string | undefined> {
    if (error instanceof JobCancelled) return error.by;
    if (!signal?.aborted) return undefined;
    return (await this.options.connection.get(this.options.keys.cancelled(jobId))) ?? undefined;
  }

  /**
   * A cancelled job: its status says so and nothing is charged, unless Together had already answered (the
   * result checkpoint exists), in which case the work was billed and is charged as such.
   */
  private async reportCancelled(
    job: Job<JobData>,
    deliverer: Deliverer,
    steps: Steps,
    by: string,
  ): Promise<void> {
    const data = job.data;
    this.options.logger.info({ jobId: job.id, kind: data.kind }, 'job cancelled');
    if (await this.journal.loadCheckpoint(job.id!)) {
      await this.chargeBilled(job, data.estimateMicros, 'cancelled after Together answered');
    }
    await steps
      .once('status:final', () =>
        deliverer.updateStatus(data.target, jobView(job.id!, data), { state: 'cancelled', by }),
      )
      .catch((error: unknown) =>
        this.options.logger.error(
          { jobId: job.id, err: errorText(error) },
          'could not report the cancellation',
        ),
      );
  }

  /** Charges (once) a job that did not succeed but that Together billed. */
  private async chargeBilled(job: Job<JobData>, micros: number, costText: string): Promise<void> {
    const model = String(job.data.body.model);
    if (await this.ledger.charge(this.entry(job, model, micros, 'billed-failed', costText))) {
      this.telemetry.spent(model, micros);
    }
  }

  private async recordDuration(kind: string, seconds: number): Promise<void> {
    const key = this.options.keys.durations(kind);
    await this.options.connection
      .multi()
      .lpush(key, seconds.toFixed(3))
      .ltrim(key, 0, DURATION_SAMPLES - 1)
      .exec()
      .catch(() => undefined);
  }

  /**
   * Decides what a failure means for the job. Passing provider trouble is thrown back to BullMQ to retry with
   * backoff; anything else, or the last attempt, is reported once in the thread and ends the job. A failure only
   * an operator can fix (no or a rejected key, a model that refuses LoRAs, is gone or needs data sharing) is never
   * `retryLater`, so it ends here on the first attempt. The job keeps the failure's code in its `failedReason`
   * (`failedReasonText`), where `lorabot run` reads it.
   */
  private async handleFailure(
    job: Job<JobData>,
    deliverer: Deliverer,
    steps: Steps,
    error: unknown,
  ): Promise<Error> {
    const data = job.data;
    const provider = isProviderFailure(error) ? error : undefined;
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1) || error instanceof StreamBrokeOff;
    const code = provider?.code;
    const log = {
      jobId: job.id,
      kind: data.kind,
      attempt: job.attemptsMade + 1,
      err: errorText(error),
      ...(code ? { code } : {}),
    };
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
    const streamed = await this.journal.peekValue(job.id!, 'answer:stream');
    // $0 for a failure unless Together certainly billed it (it answered 200 and the images were lost on the way).
    if (provider?.billed) {
      await this.chargeBilled(
        job,
        data.estimateMicros,
        'estimate: Together did the work, but the result could not be used',
      );
    }
    // Each report is tried on its own: a channel that refuses the notice may still take the status edit.
    const reports: Array<[string, () => Promise<void>]> = [
      ['notify', () => this.notify(deliverer, data.target, { ok: false, kind: data.kind, text: reason })],
      [
        'status:final',
        () => deliverer.updateStatus(data.target, jobView(job.id!, data), { state: 'failed', reason }),
      ],
    ];
    if (streamed && !(error instanceof StreamBrokeOff)) {
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
        this.options.logger.error(
          { jobId: job.id, step, err: errorText(deliveryError) },
          'could not report the failure',
        );
      }
    }
    return new UnrecoverableError(failedReasonText({ reason, code }));
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
      ...requesterOf(target),
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

/** The signal, and the config key that chose the model, for messages that tell an admin what to change. */
function callOptions(data: JobData, signal: AbortSignal | undefined): CallOptions {
  const modelSetting = data.kind === 'flux' ? 'image.model' : `chat.models.${data.request.model}.id`;
  return { ...(signal ? { signal } : {}), modelSetting };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A job someone cancelled before it started. */
class JobCancelled extends Error {
  constructor(readonly by: string) {
    super('cancelled');
  }
}

/** A streamed answer broke off after text arrived: reported and charged already, not retried. */
class StreamBrokeOff extends Error implements ProviderFailure {
  readonly mayBeBilled = true;
  readonly billed = false;
  readonly retryLater = false;
  constructor(readonly userMessage: string) {
    super(userMessage);
  }
}
