import { Queue } from 'bullmq';
import type { Requester } from '../core/budget.js';
import type { FineTuneRequest, WatchedKind, WatchSnapshot } from '../core/finetune.js';
import type { DeliveryTarget } from '../core/jobs.js';
import { JOB_NAMES, QUEUE_NAMES } from './queue-names.js';
import type { RedisClient } from './redis-connection.js';
import type { RedisKeys } from './redis-keys.js';

/** A watch's record is kept this long after its last change (a fine-tune rarely runs for more than days). */
const WATCH_TTL_SECONDS = 30 * 86_400;

/** What a poll job carries: the Together id and its kind. Everything else is in the watch's record. */
export interface WatchJobData {
  id: string;
  kind: WatchedKind;
}

/** A fine-tune awaiting Run: what was asked, and by whom. */
export interface PendingFineTune {
  request: FineTuneRequest;
  requester: Requester;
}

/** A watch as kept in Redis. */
export interface WatchRecord {
  kind: WatchedKind;
  /** Where the status message is, and so where the end notice goes. */
  target: DeliveryTarget;
  snapshot?: WatchSnapshot;
  /** Fine-tunes started from chat: who the ledger charges its `total_price` to when it ends. */
  chargeTo?: Requester;
  /** Set once the end notice went out. */
  announced?: boolean;
}

/** The poll job's id for a Together job: the same in every process, so a watch is polled by one job only. */
export function watchJobId(id: string): string {
  return `watch-${id}`;
}

/**
 * Watches in Redis: one record per Together job (its status message, last snapshot, whether it was announced), its
 * watchers, and the poll job on the `watch` queue. Gateways start and join watches; the poller reads and updates
 * them.
 */
export class WatchStore {
  readonly queue: Queue<WatchJobData>;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {
    this.queue = new Queue<WatchJobData>(QUEUE_NAMES.watch, { connection: redis, prefix: keys.prefix });
  }

  async find(id: string): Promise<WatchRecord | undefined> {
    const fields = await this.redis.hgetall(this.keys.watch(id));
    if (!fields.kind || !fields.target) return undefined;
    return {
      kind: fields.kind as WatchedKind,
      target: JSON.parse(fields.target) as DeliveryTarget,
      ...(fields.snapshot ? { snapshot: JSON.parse(fields.snapshot) as WatchSnapshot } : {}),
      ...(fields.chargeTo ? { chargeTo: JSON.parse(fields.chargeTo) as Requester } : {}),
      ...(fields.announced ? { announced: true } : {}),
    };
  }

  /**
   * Makes the record of a new watch, unless one is going (false then: join it instead). A watch that has ended is
   * replaced: watching the job again starts afresh.
   */
  async create(id: string, record: WatchRecord): Promise<boolean> {
    const key = this.keys.watch(id);
    const existing = await this.find(id);
    if (existing && !existing.announced) return false;
    if (existing) await this.redis.del(key, this.keys.watchers(id));
    const made = await this.redis.hsetnx(key, 'target', JSON.stringify(record.target));
    if (made !== 1) return false;
    await this.redis
      .multi()
      .hset(key, {
        kind: record.kind,
        ...(record.chargeTo ? { chargeTo: JSON.stringify(record.chargeTo) } : {}),
      })
      .expire(key, WATCH_TTL_SECONDS)
      .exec();
    return true;
  }

  /** Queues the poll job (at once); a job already there for this id is left as it is. */
  async poll(id: string, kind: WatchedKind): Promise<void> {
    await this.queue.add(
      JOB_NAMES.watch,
      { id, kind },
      { jobId: watchJobId(id), removeOnComplete: true, removeOnFail: { age: 86_400 } },
    );
  }

  /** Adds a watcher; false when they were watching already. */
  async join(id: string, userId: string): Promise<boolean> {
    const key = this.keys.watchers(id);
    const added = await this.redis.sadd(key, userId);
    await this.redis.expire(key, WATCH_TTL_SECONDS);
    return added === 1;
  }

  async watchers(id: string): Promise<string[]> {
    return (await this.redis.smembers(this.keys.watchers(id))).sort();
  }

  async saveSnapshot(id: string, snapshot: WatchSnapshot): Promise<void> {
    const key = this.keys.watch(id);
    await this.redis
      .multi()
      .hset(key, 'snapshot', JSON.stringify(snapshot))
      .expire(key, WATCH_TTL_SECONDS)
      .exec();
  }

  /** Marks the end notice as sent; true for the one caller that marked it (only that one announces). */
  async markAnnounced(id: string): Promise<boolean> {
    return (await this.redis.hsetnx(this.keys.watch(id), 'announced', '1')) === 1;
  }

  /** Takes back `markAnnounced` when the notice could not be posted, so the next poll tries again. */
  async unmarkAnnounced(id: string): Promise<void> {
    await this.redis.hdel(this.keys.watch(id), 'announced');
  }

  /** Keeps a fine-tune awaiting Run for as long as a confirmation waits (15 minutes). */
  async putFineTune(pendingId: string, pending: PendingFineTune): Promise<void> {
    await this.redis.set(this.keys.pending(`finetune:${pendingId}`), JSON.stringify(pending), 'EX', 900);
  }

  /** Takes a fine-tune awaiting Run, once. */
  async takeFineTune(pendingId: string): Promise<PendingFineTune | undefined> {
    const json = await this.redis.getdel(this.keys.pending(`finetune:${pendingId}`));
    return json ? (JSON.parse(json) as PendingFineTune) : undefined;
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
