import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { inject } from 'vitest';

/**
 * A Redis connection for one test file with its own key prefix. `cleanup()` deletes only keys under that prefix
 * (SCAN + UNLINK), so a shared Redis keeps everything else.
 */
export interface TestRedis {
  url: string;
  prefix: string;
  client: Redis;
  cleanup(): Promise<void>;
}

export function redisUrl(): string {
  return inject('redisUrl');
}

export async function createTestRedis(label: string): Promise<TestRedis> {
  const url = redisUrl();
  const prefix = `lorabot-test:${label}:${randomUUID()}:`;
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
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

export async function deleteByPrefix(client: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) deleted += await client.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}
