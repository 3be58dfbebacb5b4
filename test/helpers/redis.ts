import { randomUUID } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, inject } from 'vitest';
import {
  clusterAddress,
  createRedis,
  type RedisClient,
  waitReady,
} from '../../src/queue/redis-connection.js';
import { RedisKeys } from '../../src/queue/redis-keys.js';

/** The two kinds of Redis the suite runs lorabot on: one server, and a 3-master Redis Cluster. */
export const REDIS_KINDS = ['single', 'cluster'] as const;
export type RedisKind = (typeof REDIS_KINDS)[number];

/** Each kind with words for a test's name, for `describe.each(ON_EACH_REDIS)('… on $where', ({ kind }) => …)`. */
export const ON_EACH_REDIS: ReadonlyArray<{ kind: RedisKind; where: string }> = [
  { kind: 'single', where: 'one Redis' },
  { kind: 'cluster', where: 'a Redis Cluster' },
];

/**
 * A Redis connection for one test file with its own key prefix. `cleanup()` deletes only keys under that prefix
 * (SCAN + UNLINK, on every master of a cluster), so a shared Redis keeps everything else.
 */
export interface TestRedis {
  url: string;
  prefix: string;
  client: RedisClient;
  cleanup(): Promise<void>;
}

export function redisUrl(): string {
  return inject('redisUrl');
}

/** The suite's Redis Cluster as lorabot opens it (`REDIS_CLUSTER_NODES`, else the one the suite started). */
export function redisClusterAddress(): string {
  return clusterAddress(
    inject('redisClusterNodes')
      .split(',')
      .map((node) => ({ host: node.slice(0, node.lastIndexOf(':')), port: Number(node.split(':').at(-1)) })),
  );
}

/** Where the suite's Redis of this kind is, as `createRedis` and `startLorabot` take it. */
export function redisAddress(kind: RedisKind): string {
  return kind === 'cluster' ? redisClusterAddress() : redisUrl();
}

/**
 * On a cluster the prefix is a hash tag (`{…}:`), as lorabot's own keys are, so that one script's keys share a slot.
 */
export async function createTestRedis(
  label: string,
  kind: RedisKind = 'single',
  prefix = testPrefix(label, kind),
): Promise<TestRedis> {
  const url = redisAddress(kind);
  const client =
    kind === 'cluster'
      ? createRedis(url, 'worker', `test-${label}`)
      : new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  if (client instanceof Redis) await client.connect();
  else await waitReady(client, 10_000);
  return {
    url,
    prefix,
    client,
    async cleanup() {
      await deleteByPrefix(client, prefix);
      client.disconnect();
    },
  };
}

function testPrefix(label: string, kind: RedisKind): string {
  return kind === 'cluster'
    ? `{lorabot-test:${label}:${randomUUID()}}:`
    : `lorabot-test:${label}:${randomUUID()}:`;
}

/** A test Redis for the tests of one `describe`, and lorabot's keys under its prefix. */
export interface SuiteRedis {
  /** Set once the tests run. */
  client: RedisClient;
  keys: RedisKeys;
}

/**
 * For the tests of the enclosing `describe`: lorabot's keys under a prefix of their own at once, and a
 * `createTestRedis` of `kind` with that prefix made before the tests and its keys deleted after them.
 */
export function suiteRedis(label: string, kind: RedisKind = 'single'): SuiteRedis {
  const prefix = testPrefix(label, kind);
  const suite = { keys: new RedisKeys(prefix.slice(0, -1)) } as SuiteRedis;
  let redis: TestRedis | undefined;
  beforeAll(async () => {
    redis = await createTestRedis(label, kind, prefix);
    suite.client = redis.client;
  });
  afterAll(async () => {
    await redis?.cleanup();
  });
  return suite;
}

/** Deletes every key under `prefix`; on a cluster, on each master, one key at a time (they may hash apart). */
export async function deleteByPrefix(client: RedisClient, prefix: string): Promise<number> {
  if (!(client instanceof Cluster)) return deleteOnServer(client, prefix, (keys) => client.unlink(...keys));
  // A cluster knows its masters once it is ready.
  await waitReady(client, 10_000);
  let deleted = 0;
  for (const node of client.nodes('master')) {
    deleted += await deleteOnServer(node, prefix, async (keys) => {
      const results = (await Promise.all(keys.map((key) => client.unlink(key)))) as number[];
      return results.reduce((a, b) => a + b, 0);
    });
  }
  return deleted;
}

async function deleteOnServer(
  server: Redis,
  prefix: string,
  unlink: (keys: string[]) => Promise<number>,
): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await server.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) deleted += await unlink(keys);
  } while (cursor !== '0');
  return deleted;
}
