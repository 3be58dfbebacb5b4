/**
 * Redis memory before and after a soak. A run's keys live hours to a year (claims a day, job steps a week, ledger
 * markers 400 days, finished jobs `keep_completed_hours`), so the bench does not wait for them: it does what their
 * expiry will do (BullMQ's clean of finished jobs, then deleting every key of the run that has a TTL) and measures
 * what is left.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUE_NAMES } from '../src/queue/queue-names.js';

/** Keys of one kind (ids replaced by `*`): how many and their bytes (`MEMORY USAGE`). */
export type Census = Record<string, { keys: number; bytes: number }>;

/**
 * Kinds of key that stay after every TTL has run out, by design: the ledger (its entries are the usage CSV, one
 * per charge; its totals are per person, channel and workspace per day and month), and what is bounded whatever
 * the load: BullMQ's job id counters and event logs (capped at `streams.events.maxLen`, 10,000 events a queue)
 * and the recent durations kept for ETAs (a capped list per kind).
 */
export const KEPT_BY_DESIGN = [
  /^ledger:entries:/,
  /^ledger:(user|channel|workspace):/,
  /^(image|chat|watch):(events|id)$/,
  /^durations:/,
];

/** Redis's used memory, and the part of it that is data (keys and values; not clients, scripts or buffers). */
export async function usedMemory(redis: Redis): Promise<{ used: number; dataset: number }> {
  const info = await redis.info('memory');
  const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? Number.NaN);
  return { used: field('used_memory'), dataset: field('used_memory_dataset') };
}

/** Every key under `prefix`, by kind. */
export async function census(redis: Redis, prefix: string): Promise<Census> {
  const result: Census = {};
  for await (const keys of scan(redis, prefix)) {
    const pipeline = redis.pipeline();
    for (const key of keys) pipeline.memory('USAGE', key);
    const sizes = (await pipeline.exec()) ?? [];
    keys.forEach((key, k) => {
      const kind = kindOf(key.slice(prefix.length + 1));
      const entry = result[kind] ?? { keys: 0, bytes: 0 };
      entry.keys++;
      entry.bytes += Number(sizes[k]?.[1] ?? 0);
      result[kind] = entry;
    });
  }
  return result;
}

/** What the passing of every retention period does to the run's keys: finished jobs cleaned, TTL keys gone. */
export async function expireRun(
  redis: Redis,
  prefix: string,
): Promise<{ jobsCleaned: number; keysExpired: number }> {
  let jobsCleaned = 0;
  for (const name of Object.values(QUEUE_NAMES)) {
    const connection = redis.duplicate();
    const queue = new Queue(name, { connection, prefix });
    for (const state of ['completed', 'failed'] as const) {
      jobsCleaned += (await queue.clean(0, 1_000_000, state)).length;
    }
    await queue.close();
    connection.disconnect();
  }
  let keysExpired = 0;
  for await (const keys of scan(redis, prefix)) {
    const pipeline = redis.pipeline();
    for (const key of keys) pipeline.pttl(key);
    const ttls = (await pipeline.exec()) ?? [];
    const expiring = keys.filter((_, k) => Number(ttls[k]?.[1]) > 0);
    // DEL, not UNLINK: the memory is freed before the next measurement, not by a background thread.
    if (expiring.length > 0) keysExpired += await redis.del(...expiring);
  }
  return { jobsCleaned, keysExpired };
}

/**
 * Used memory once it stops changing: Redis shrinks its key tables some time after keys go (in its cron, 10 times
 * a second), and a table sized for the run's keys would otherwise count as left over.
 */
export async function settledMemory(redis: Redis): Promise<{ used: number; dataset: number }> {
  let last = await usedMemory(redis);
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 500));
    const now = await usedMemory(redis);
    if (now.dataset === last.dataset) return now;
    last = now;
  }
  return last;
}

/** Kinds present after but not before, or grown, with the growth in bytes. */
export function growth(before: Census, after: Census): Census {
  const grown: Census = {};
  for (const [kind, now] of Object.entries(after)) {
    const was = before[kind] ?? { keys: 0, bytes: 0 };
    if (now.keys > was.keys || now.bytes > was.bytes) {
      grown[kind] = { keys: now.keys - was.keys, bytes: now.bytes - was.bytes };
    }
  }
  return grown;
}

async function* scan(redis: Redis, prefix: string): AsyncGenerator<string[]> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) yield keys;
  } while (cursor !== '0');
}

/** `image:slack-T0-123.456`, `steps:slack-…` → `image:*`, `steps:*`: the parts that are ids become `*`. */
function kindOf(rest: string): string {
  return rest
    .split(':')
    .map((part) => (/\d{4}|^(slack|discord|web|cli)[-_]|^U0|^C0/.test(part) || part.length > 24 ? '*' : part))
    .join(':');
}
