import { DelayedError, type Job, Worker } from 'bullmq';
import {
  endOf,
  nextPollMs,
  type TogetherJobs,
  type WatchCadence,
  type WatchEnd,
  type WatchSnapshot,
  watchNotice,
} from '../core/finetune.js';
import type { Deliverer, DeliveryTarget } from '../core/jobs.js';
import { formatUsd } from '../core/money.js';
import type { Logger } from '../core/ports.js';
import { Ledger, type LedgerEntry } from './ledger.js';
import { QUEUE_NAMES } from './queue-names.js';
import type { RedisClient } from './redis-connection.js';
import type { RedisKeys } from './redis-keys.js';
import { type WatchJobData, type WatchRecord, WatchStore } from './watch-store.js';

export interface WatchPollerOptions {
  connection: RedisClient;
  keys: RedisKeys;
  together: TogetherJobs;
  deliverers: { [P in DeliveryTarget['platform']]?: Deliverer };
  cadence: WatchCadence;
  /** BullMQ's lock and stalled-job check: a poll whose worker died is taken up by another. */
  recovery: { lockMs: number; stalledIntervalMs: number };
  logger: Logger;
  now?: () => number;
}

/**
 * The one poller of the deployment: a BullMQ worker on the `watch` queue, where each watch is one job under a
 * fixed id (`watch-<together id>`). A turn looks at the job once, keeps the status message current, and either
 * announces the end (once: a flag set atomically in the watch's record) or moves the same job back to the delayed
 * set for the state's cadence (30 s while it works, 5 min while it waits, or what a 429's `Retry-After` says).
 * Every worker process runs one, and BullMQ hands each turn to exactly one of them; a worker that dies mid-turn
 * loses nothing, since the job is still in Redis and the stalled-job check gives it to another.
 */
export class WatchPoller {
  readonly worker: Worker<WatchJobData>;
  private readonly store: WatchStore;
  private readonly ledger: Ledger;
  private readonly now: () => number;

  constructor(private readonly options: WatchPollerOptions) {
    this.store = new WatchStore(options.connection, options.keys);
    this.ledger = new Ledger(options.connection, options.keys);
    this.now = options.now ?? Date.now;
    this.worker = new Worker<WatchJobData>(QUEUE_NAMES.watch, (job, token) => this.turn(job, token), {
      connection: options.connection,
      prefix: options.keys.prefix,
      concurrency: 4,
      lockDuration: options.recovery.lockMs,
      stalledInterval: options.recovery.stalledIntervalMs,
      // A watch may be picked up again many times over days of restarts; it must not fail for that.
      maxStalledCount: 1000,
    });
    this.worker.on('error', (error) => options.logger.error({ err: error.message }, 'watch poller error'));
  }

  async close(): Promise<void> {
    // A worker closed while its connections are still being set up leaves their first commands to fail with
    // "Connection is closed" where nothing awaits them: let it finish starting (or fail to) first.
    await this.worker.waitUntilReady().catch(() => undefined);
    await this.worker.close();
    await this.store.close();
  }

  private async turn(job: Job<WatchJobData>, token: string | undefined): Promise<void> {
    const { id, kind } = job.data;
    const { logger, cadence } = this.options;
    const record = await this.store.find(id);
    if (!record || record.announced) return;
    const look = await this.options.together.look(id, kind);
    if (!look.ok && look.reason === 'gone') {
      const snapshot = record.snapshot ?? { kind, id, state: 'unknown' };
      return this.end(id, record, snapshot, 'gone');
    }
    if (!look.ok) {
      logger.warn(
        { watch: id, err: look.detail, retryAfterMs: look.retryAfterMs },
        'watch: Together did not answer',
      );
      const state = record.snapshot?.state ?? 'pending';
      return this.later(job, token, nextPollMs(state, cadence, look.retryAfterMs) ?? cadence.activeMs);
    }
    const snapshot = look.snapshot;
    await this.store.saveSnapshot(id, snapshot);
    const end = endOf(snapshot);
    if (end) return this.end(id, record, snapshot, end);
    await this.show(id, record, snapshot);
    return this.later(job, token, nextPollMs(snapshot.state, cadence) ?? cadence.activeMs);
  }

  /** The same job back to the delayed set: BullMQ's way to run a job again later under its own id. */
  private async later(job: Job<WatchJobData>, token: string | undefined, delayMs: number): Promise<never> {
    await job.moveToDelayed(this.now() + delayMs, token);
    throw new DelayedError();
  }

  private async show(id: string, record: WatchRecord, snapshot: WatchSnapshot, end?: WatchEnd) {
    const deliverer = this.options.deliverers[record.target.platform];
    const watchers = (await this.store.watchers(id)).length;
    await deliverer?.watch
      ?.show(record.target, { snapshot, watchers, ...(end ? { end } : {}) })
      .catch((error: unknown) =>
        this.options.logger.warn({ watch: id, err: errorText(error) }, 'watch: could not update the status'),
      );
  }

  /** The end: the notice once to every watcher, the fine-tune's charge once, the status's last edit. */
  private async end(id: string, record: WatchRecord, snapshot: WatchSnapshot, end: WatchEnd): Promise<void> {
    const deliverer = this.options.deliverers[record.target.platform];
    if (await this.store.markAnnounced(id)) {
      const notice = watchNotice(snapshot, end, await this.store.watchers(id));
      try {
        await deliverer?.watch?.announce(record.target, notice);
      } catch (error) {
        await this.store.unmarkAnnounced(id);
        throw error;
      }
      this.options.logger.info({ watch: id, end }, 'watch ended');
    }
    if (record.chargeTo && snapshot.priceMicros !== undefined) await this.charge(id, record, snapshot);
    await this.show(id, record, snapshot, end);
  }

  /** A fine-tune started from chat: its `total_price` in the ledger as its own kind, once. */
  private async charge(id: string, record: WatchRecord, snapshot: WatchSnapshot): Promise<void> {
    const requester = record.chargeTo!;
    const entry: LedgerEntry = {
      jobId: `finetune-${id}`,
      at: new Date(this.now()).toISOString(),
      ...requester,
      kind: 'finetune',
      model: snapshot.model ?? 'unknown',
      micros: snapshot.priceMicros!,
      status: endOf(snapshot) === 'completed' ? 'charged' : 'billed-failed',
      costText: `Cost: $${formatUsd(snapshot.priceMicros!)} (fine-tune ${id}, Together's total_price)`,
    };
    await this.ledger.charge(entry);
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
