import { randomUUID } from 'node:crypto';
import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createRedis, waitReady } from '../../src/queue/redis-connection.js';
import { createTestRedis, deleteByPrefix, redisClusterAddress, type TestRedis } from '../helpers/redis.js';

describe('the test Redis', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await createTestRedis('harness');
  });
  afterAll(async () => {
    await redis.cleanup();
  });

  it('is the REDIS_URL when set, else a private server the suite started', () => {
    if (process.env.REDIS_URL) {
      expect(inject('redisUrl')).toBe(process.env.REDIS_URL);
      expect(inject('redisOwned')).toBe(false);
    } else {
      expect(inject('redisOwned')).toBe(true);
      expect(inject('redisUrl')).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
      expect(inject('redisUrl')).not.toBe('redis://127.0.0.1:6379');
    }
    expect(redis.url).toBe(inject('redisUrl'));
  });

  it('answers and keeps keys under the test prefix', async () => {
    expect(await redis.client.ping()).toBe('PONG');
    await redis.client.set(`${redis.prefix}k`, 'v');
    expect(await redis.client.get(`${redis.prefix}k`)).toBe('v');
  });

  it('cleans up only its own prefix, leaving other keys alone', async () => {
    const other = await createTestRedis('harness-other');
    const neighbour = `${other.prefix}neighbour`;
    await other.client.set(neighbour, 'keep me');
    const mine = await createTestRedis('harness-mine');
    await mine.client.set(`${mine.prefix}a`, '1');
    await mine.client.set(`${mine.prefix}b`, '2');
    await mine.cleanup();
    expect(await other.client.get(neighbour)).toBe('keep me');
    expect(await other.client.exists(`${mine.prefix}a`, `${mine.prefix}b`)).toBe(0);
    await other.cleanup();
  });
});

describe('the test Redis Cluster', () => {
  it('is REDIS_CLUSTER_NODES when set, else 3 masters the suite started, serving all 16384 slots', async () => {
    const nodes = inject('redisClusterNodes');
    if (process.env.REDIS_CLUSTER_NODES) expect(nodes).toBe(process.env.REDIS_CLUSTER_NODES);
    else expect(nodes).toMatch(/^127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+$/);
    const cluster = createRedis(redisClusterAddress(), 'worker', 'test-harness');
    try {
      await waitReady(cluster);
      const info = String(await cluster.cluster('INFO'));
      expect(info).toMatch(/^cluster_state:ok\r?$/m);
      expect(info).toMatch(/^cluster_slots_ok:16384\r?$/m);
      if (!process.env.REDIS_CLUSTER_NODES) expect(info).toMatch(/^cluster_size:3\r?$/m);
    } finally {
      cluster.disconnect();
    }
  });

  it('cleans up keys under a prefix on every master, wherever they hash, and nothing else', async () => {
    const cluster = createRedis(redisClusterAddress(), 'worker', 'test-harness');
    const prefix = `lorabot-test:scatter:${randomUUID()}:`;
    const neighbour = `lorabot-test:neighbour:${randomUUID()}`;
    try {
      await waitReady(cluster);
      await Promise.all(Array.from({ length: 30 }, (_, i) => cluster.set(`${prefix}${i}`, String(i))));
      await cluster.set(neighbour, 'keep me');
      const holding = await Promise.all(
        (cluster as Cluster).nodes('master').map(async (node) => (await node.keys(`${prefix}*`)).length),
      );
      expect(holding.filter((n) => n > 0).length).toBeGreaterThan(1);
      expect(await deleteByPrefix(cluster, prefix)).toBe(30);
      expect(await cluster.get(`${prefix}0`)).toBeNull();
      expect(await cluster.get(neighbour)).toBe('keep me');
    } finally {
      await cluster.del(neighbour);
      cluster.disconnect();
    }
  });
});
