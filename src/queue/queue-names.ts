/**
 * Queue and job names in one place. The key prefix carries a Redis Cluster hash tag (`{…}`) so that every key of
 * a queue lands in the same slot, as BullMQ needs on a cluster.
 */
export const DEFAULT_PREFIX = '{lorabot}';

export const QUEUE_NAMES = {
  /** Image generations: slow, few at a time, behind Together's image rate limit. */
  image: 'image',
  /** Chat answers: fast; kept apart so a slow image queue never holds up answers. */
  chat: 'chat',
  /** Watches of Together's fine-tunes and uploads: one delayed job per watch, polled by the workers. */
  watch: 'watch',
} as const;

export type QueueKind = Exclude<keyof typeof QUEUE_NAMES, 'watch'>;

export const JOB_NAMES = { flux: 'flux', ask: 'ask', watch: 'watch' } as const;
