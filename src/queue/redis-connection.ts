import { Redis, type RedisOptions } from 'ioredis';

/**
 * Opens a Redis connection for one role. Producers (the gateway) fail fast when Redis is away, so a user hears
 * "try again shortly" within the platform's deadline; workers wait and reconnect, as BullMQ requires
 * (`maxRetriesPerRequest: null`).
 */
export function createRedis(url: string, role: 'producer' | 'worker', name: string): Redis {
  const common: RedisOptions = {
    connectionName: `lorabot:${name}`,
    // Reconnect quickly at first (a restart takes a moment), then every 2 s at most.
    retryStrategy: (times) => Math.min(100 * times, 2000),
    lazyConnect: false,
  };
  const options: RedisOptions =
    role === 'producer'
      ? { ...common, maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 }
      : { ...common, maxRetriesPerRequest: null, enableReadyCheck: true };
  return new Redis(url, options);
}

/** Waits until a connection is ready (or fails after `timeoutMs`). */
export async function waitReady(redis: Redis, timeoutMs = 5000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis did not become ready within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      redis.off('ready', onReady);
    };
    redis.on('ready', onReady);
  });
}
