import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestRedis, type TestRedis } from '../helpers/redis.js';

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
