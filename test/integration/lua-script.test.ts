import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LuaScript, pushCapped } from '../../src/queue/lua-script.js';
import { PrivateRedis } from '../helpers/private-redis.js';
import { createTestRedis, ON_EACH_REDIS, type TestRedis } from '../helpers/redis.js';

describe.each(ON_EACH_REDIS)('a capped list on $where', ({ kind }) => {
  let redis: TestRedis;

  beforeAll(async () => {
    redis = await createTestRedis('lua-script', kind);
  });

  afterAll(async () => {
    await redis.cleanup();
  });

  it('keeps the newest entries, newest first, and renews its TTL only when given one', async () => {
    const kept = `${redis.prefix}kept`;
    for (const value of ['1', '2', '3', '4']) {
      await pushCapped(redis.client, kept, value, { max: 3, ttlSeconds: 600 });
    }
    expect(await redis.client.lrange(kept, 0, -1)).toEqual(['4', '3', '2']);
    expect(await redis.client.ttl(kept)).toBeGreaterThan(590);
    const forever = `${redis.prefix}forever`;
    await pushCapped(redis.client, forever, 'a', { max: 2 });
    expect(await redis.client.ttl(forever)).toBe(-1);
  });
});

describe('a Lua script run by its SHA1', () => {
  const server = new PrivateRedis();
  let client: Redis;

  beforeAll(async () => {
    await server.start();
    client = new Redis(server.url, { maxRetriesPerRequest: 1 });
  });

  afterAll(async () => {
    client.disconnect();
    await server.stop();
  });

  /** How many times the server ran each of EVAL and EVALSHA. */
  async function evalCounts(): Promise<{ eval: number; evalsha: number }> {
    const stats = await client.info('commandstats');
    const calls = (name: string) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
    return { eval: calls('eval'), evalsha: calls('evalsha') };
  }

  it('sends its text once on a connection, and again only when the server has forgotten it (NOSCRIPT)', async () => {
    const script = new LuaScript('lorabotTestIncr', "return redis.call('INCRBY', KEYS[1], ARGV[1])");
    await client.config('RESETSTAT');
    expect(await script.run(client, ['n'], [2])).toBe(2);
    expect(await script.run(client, ['n'], [3])).toBe(5);
    expect(await script.run(client, ['n'], [4])).toBe(9);
    // The text goes once on the connection (EVAL); the later calls send its SHA1 alone.
    expect(await evalCounts()).toEqual({ eval: 1, evalsha: 2 });
    // A server that forgot it (restarted, or its slot moved) answers NOSCRIPT: the text is sent again, once.
    await client.script('FLUSH');
    expect(await script.run(client, ['n'], [1])).toBe(10);
    expect((await evalCounts()).eval).toBe(2);
    expect(await script.run(client, ['n'], [1])).toBe(11);
    expect((await evalCounts()).eval).toBe(2);
  });
});
