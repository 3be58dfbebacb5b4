import { refusalText } from '../core/budget.js';
import { type IntakeRecord, jobWithStatus, RECOVER_AFTER_MS, type StatusRecovery } from '../core/intake.js';
import type { DeliveryTarget, JobAdmission } from '../core/jobs.js';
import type { Logger } from '../core/ports.js';
import type { IntakeStore } from './intake-store.js';
import type { JobProducer } from './job-producer.js';

/** How often each worker tries to sweep (one of them does, under the lease). */
const SWEEP_EVERY_MS = 5_000;
/**
 * The lease outlasts a sweep of a batch; it is given back when the sweep ends. A record another sweep settled while
 * this one waited for the lease is found gone or queued.
 */
const LEASE_MS = 60_000;
/** A request whose recovery has failed since this long after its claim is dropped. */
const GIVE_UP_MS = 60 * 60_000;
/** The sweep looks at this many of the oldest due records each time. */
const BATCH = 50;

/** What happened to one record: queued by the sweep, found queued, refused by a budget, or gone. */
export type Recovered = 'queued' | 'found' | 'refused' | 'gone';

export interface IntakeSweeperOptions {
  intake: IntakeStore;
  producer: Pick<JobProducer, 'enqueue' | 'position' | 'jobEnded'>;
  /** Admits as the gateway does (the same budgets and cap); a request admitted already keeps its reservation. */
  admission: JobAdmission;
  /** Who posts a status on each platform this worker delivers to. */
  recovery: Partial<Record<DeliveryTarget['platform'], StatusRecovery>>;
  logger: Logger;
  /** This worker, as the lease's holder. */
  holder: string;
  now?: () => number;
  /** Records claimed longer ago than this are swept; default `RECOVER_AFTER_MS`. */
  afterMs?: number;
}

/**
 * The worker's half of the intake: finishes the launch of requests whose gateway stopped between the claim and
 * the queue. One worker at a time (a short lease in Redis) looks at records older than `RECOVER_AFTER_MS` (a
 * gateway gives up its own launch well before: the two never act on one request). A record whose job exists is
 * cleared. Otherwise the request is admitted again (the same script: a reservation the gateway made is kept, not
 * made twice; a refusal is told privately), its status posted by the platform's `StatusRecovery` (which finds the status the gateway may have
 * posted), its job queued under the request's id (BullMQ adds a job id once), and the record cleared.
 */
export class IntakeSweeper {
  private readonly now: () => number;

  constructor(private readonly options: IntakeSweeperOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Sweeps every few seconds until the returned function is called. */
  start(): () => void {
    const timer = setInterval(() => {
      this.sweep().catch((error) => this.options.logger.warn({ err: message(error) }, 'intake sweep failed'));
    }, SWEEP_EVERY_MS);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** One sweep, if this worker gets the lease; returns how many records it settled. */
  async sweep(): Promise<number> {
    const { intake, holder } = this.options;
    // One read while nothing is due (nearly always): the lease is taken only when there is work.
    const due = await intake.claimedBefore(this.now() - (this.options.afterMs ?? RECOVER_AFTER_MS), BATCH);
    if (due.length === 0 || !(await intake.takeLease(holder, LEASE_MS))) return 0;
    let settled = 0;
    try {
      for (const { requestKey, at } of due) {
        try {
          await this.recover(requestKey);
          settled++;
        } catch (error) {
          await this.failed(requestKey, this.now() - at, error);
        }
      }
    } finally {
      await intake.returnLease(holder).catch(() => undefined);
    }
    return settled;
  }

  /** Finishes one request's launch (see the class). */
  async recover(requestKey: string): Promise<Recovered> {
    const { intake, producer, logger } = this.options;
    const record = await intake.record(requestKey);
    if (!record) {
      await intake.clear(requestKey);
      return 'gone';
    }
    if ((await producer.jobEnded(requestKey, record.job.kind)) !== 'gone') {
      await intake.clear(requestKey);
      logger.info({ requestKey }, 'intake record of a queued job cleared');
      return 'found';
    }
    const outcome = await this.launch(record);
    await intake.clear(requestKey);
    logger.info(
      { requestKey, platform: record.origin.platform, outcome },
      'request recovered from a stopped gateway',
    );
    return outcome;
  }

  /**
   * A recovery that failed is tried again at the next sweep (a platform or Redis that failed for a moment), for
   * `GIVE_UP_MS`; then the request is dropped (its reservation given back, its claim kept) and said in the log.
   */
  private async failed(requestKey: string, ageMs: number, error: unknown): Promise<void> {
    const { logger, intake, admission } = this.options;
    if (ageMs < GIVE_UP_MS) {
      logger.warn({ requestKey, err: message(error) }, 'could not recover a request; trying again');
      return;
    }
    await admission.release(requestKey);
    await intake.clear(requestKey);
    logger.error({ requestKey, err: message(error) }, 'could not recover a request for an hour; dropped');
  }

  private async launch(record: IntakeRecord): Promise<'queued' | 'refused'> {
    const { producer, admission } = this.options;
    const { requestKey, origin, view, job } = record;
    const recovery = this.options.recovery[origin.platform];
    if (!recovery) throw new Error(`this worker does not deliver to ${origin.platform}`);
    const admitted = await admission.admit(requestKey, {
      requester: record.requester,
      kind: job.kind,
      estimate: job.estimateMicros,
      now: this.now(),
    });
    if (!admitted.ok) {
      // Never admitted, so never given a status: told privately, as the gateway tells a refusal.
      await recovery.tell(origin, refusalText(admitted.refusal));
      return 'refused';
    }
    const { priority } = admitted;
    const position = await producer.position(job.kind, priority);
    const posted = await recovery.post(origin, view, { state: 'queued', position }, record.at);
    await producer.enqueue(requestKey, jobWithStatus(job, posted, record.followUpKey), { priority });
    return 'queued';
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
