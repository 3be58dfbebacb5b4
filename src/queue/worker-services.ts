import type { Job } from 'bullmq';
import { hasSources } from '../core/edit-model.js';
import {
  type Deliverer,
  type DeliveryTarget,
  type JobData,
  jobView,
  type Notice,
  requesterOf,
  type StepPost,
} from '../core/jobs.js';
import type {
  CallOptions,
  ChatProvider,
  ImageProvider,
  Logger,
  SourceImageResolver,
  Telemetry,
} from '../core/ports.js';
import type { Cost } from '../core/pricing.js';
import { replaceSourceMarkers } from '../core/requests.js';
import type { CoreSettings } from '../core/settings.js';
import { BudgetReservations } from './budget-reservations.js';
import { GatewayStore } from './gateway-store.js';
import { Ledger, type LedgerEntry } from './ledger.js';
import { pushCapped } from './lua-script.js';
import type { RedisClient } from './redis-connection.js';
import type { RedisKeys } from './redis-keys.js';
import { type StepHook, StepJournal, type Steps } from './step-journal.js';

/** What a charge needs of a price: the amount, the cost line, and whether the amount is an estimate. */
export type Charge = Pick<Cost, 'micros' | 'text' | 'estimated'>;

/** The note on a ledger entry for a call a stopped worker lost. */
export const POSSIBLY_BILLED_NOTE = 'earlier call, possibly billed (worker stopped during the call)';

/** How many recent job durations ETAs are averaged over. */
const DURATION_SAMPLES = 20;

/** What every job step needs from outside: Redis, the providers, the settings, logs and metrics. */
export interface WorkerDependencies {
  connection: RedisClient;
  keys: RedisKeys;
  settings: CoreSettings;
  images: ImageProvider;
  chat: ChatProvider;
  logger: Logger;
  /** Turns a job's source images into what Together reads, just before the call. */
  sources?: SourceImageResolver;
  /** The chat presets added at run time: read again before a chat job whose preset this process does not know. */
  models?: { refresh(): Promise<unknown> };
  /** How long an image job's images are kept after delivery, for Vary and Edit (seconds; 0 or absent: not kept). */
  keepResultsSeconds?: number;
  /** Test harnesses only (never configuration): runs between a step's platform call and its journal record. */
  afterStep?: StepHook;
}

/**
 * The worker's shared steps for every kind of job: the step journal, charging the ledger once, telling the
 * requester, timing provider calls. The image and chat jobs and the failure path all go through it, so a charge
 * or a notice is written in one place.
 */
export class WorkerServices {
  readonly journal: StepJournal;
  readonly ledger: Ledger;
  readonly store: GatewayStore;
  readonly reservations: BudgetReservations;

  constructor(
    readonly deps: WorkerDependencies,
    readonly telemetry: Telemetry,
    private readonly now: () => number,
  ) {
    this.journal = new StepJournal(deps.connection, deps.keys, { afterRun: deps.afterStep });
    this.ledger = new Ledger(deps.connection, deps.keys);
    this.store = new GatewayStore(deps.connection, deps.keys);
    this.reservations = new BudgetReservations(deps.connection, deps.keys);
  }

  get logger(): Logger {
    return this.deps.logger;
  }

  /**
   * The job's Together body, with its source images turned into what Together reads (`replaceSourceMarkers`). A
   * job without images gets its body as it is, with no Redis command or download.
   */
  async togetherBody(job: Job<JobData>, signal: AbortSignal | undefined): Promise<Record<string, unknown>> {
    const { body, request, kind } = job.data;
    const images = request.images ?? [];
    if (images.length === 0) return body;
    if (!this.deps.sources) throw new Error('This worker has no source image resolver');
    const resolved = await this.deps.sources.resolve(images, { jobId: job.id!, kind, signal });
    return replaceSourceMarkers(body, resolved);
  }

  /** After delivery: an image job's result stays for `keepResultsSeconds` (Vary, Edit); anything else goes. */
  async settleResult(job: Job<JobData>): Promise<void> {
    const keep = job.data.kind === 'flux' ? (this.deps.keepResultsSeconds ?? 0) : 0;
    if (keep > 0) await this.journal.keepCheckpoint(job.id!, keep);
    else await this.journal.dropCheckpoint(job.id!);
  }

  /** Charges a successful job (once), tells the requester, and marks its status done. */
  async finish(job: Job<JobData>, deliverer: Deliverer, steps: Steps, cost: Cost): Promise<void> {
    const data = job.data;
    await this.charge(job, cost, { status: 'charged' });
    const notice: Notice = { ok: true, kind: data.kind, text: cost.text };
    await steps.once('notify', (post) => this.notify(deliverer, data.target, notice, post));
    await steps.once('status:final', () =>
      deliverer.updateStatus(data.target, jobView(job.id!, data), { state: 'done', costText: cost.text }),
    );
  }

  /** Tells the requester the way they chose (`/flux notify`): a mention in the thread, a DM, or nothing. */
  async notify(deliverer: Deliverer, target: DeliveryTarget, notice: Notice, post: StepPost): Promise<void> {
    if (target.platform === 'cli') return;
    const mode = await this.store.notifyMode(requesterOf(target));
    if (mode !== 'off') await deliverer.notify(target, notice, mode, post);
  }

  /** Charges (once) a job that did not succeed but that Together billed; `note` says what happened. */
  async chargeBilled(job: Job<JobData>, cost: Charge, note: string): Promise<void> {
    await this.charge(job, cost, { status: 'billed-failed', note });
  }

  /**
   * Charges (once per call) an earlier call of the job that a stopped worker left without a result: Together may
   * have done and billed it. Its own entry, beside the job's charge.
   */
  async chargePossiblyBilled(job: Job<JobData>, cost: Charge, callId: string): Promise<void> {
    await this.charge(job, cost, { status: 'possibly-billed', note: POSSIBLY_BILLED_NOTE, callId });
  }

  /**
   * Gives back the reservation of a job that ends without a charge (failed, cancelled). A Redis error is only
   * logged: the sweep releases what is left of a job that has ended.
   */
  async releaseReservation(jobId: string): Promise<void> {
    await this.reservations.release(jobId).catch((error: unknown) => {
      this.logger.warn({ jobId, err: errorText(error) }, 'could not release a budget reservation');
    });
  }

  /** Keeps the last few durations of a kind of job, for the ETAs the gateway shows. */
  async recordDuration(kind: string, seconds: number): Promise<void> {
    await pushCapped(this.deps.connection, this.deps.keys.durations(kind), seconds.toFixed(3), {
      max: DURATION_SAMPLES,
    }).catch(() => undefined);
  }

  /** Times a provider call for the metrics, success or failure. */
  async timed<T>(kind: string, call: () => Promise<T>): Promise<T> {
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

  private async charge(
    job: Job<JobData>,
    cost: Charge,
    kind: Pick<LedgerEntry, 'status' | 'note' | 'callId'>,
  ): Promise<void> {
    const model = String(job.data.body.model);
    const entry: LedgerEntry = {
      jobId: job.id!,
      at: new Date(this.now()).toISOString(),
      ...requesterOf(job.data.target),
      kind: job.data.kind,
      model,
      micros: cost.micros,
      status: kind.status,
      costText: cost.text,
      ...(cost.estimated ? { estimated: true } : {}),
      ...(kind.note ? { note: kind.note } : {}),
      ...(kind.callId ? { callId: kind.callId } : {}),
    };
    // The job's own charge settles its reservation; an earlier lost call's entry does not (the job goes on).
    const settles = kind.status === 'possibly-billed' ? undefined : await this.reservations.held(job.id!);
    if (await this.ledger.charge(entry, settles)) this.telemetry.spent(model, cost.micros);
  }
}

/** The signal, and the config key that chose the model, for messages that tell an admin what to change. */
export function callOptions(data: JobData, signal: AbortSignal | undefined): CallOptions {
  const modelSetting =
    data.kind === 'flux'
      ? hasSources(data.request)
        ? 'image.edit.model'
        : 'image.model'
      : `chat.models.${data.request.model}.id`;
  return { ...(signal ? { signal } : {}), modelSetting };
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
