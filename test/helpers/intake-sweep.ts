import { createLogger } from '../../src/adapters/logging/logger.js';
import { createIntakeSweeper } from '../../src/cli/start-worker.js';
import { RECOVER_AFTER_MS } from '../../src/core/intake.js';
import { JobProducer } from '../../src/queue/job-producer.js';
import { createRedis } from '../../src/queue/redis-connection.js';
import { RedisKeys } from '../../src/queue/redis-keys.js';
import type { Harness } from './lorabot-harness.js';

/**
 * One sweep of a harness's intake records, by the sweeper a worker runs, as if `RECOVER_AFTER_MS` had passed: what
 * the worker's own sweep does a minute later, without the test waiting that minute. Returns the records settled.
 */
export async function sweepAhead(h: Harness): Promise<number> {
  const connection = createRedis(h.redisUrl, 'worker', 'test-intake-sweep');
  const keys = new RedisKeys(h.config.queue.prefix);
  const producer = new JobProducer(connection, keys, h.config.queue);
  try {
    const sweeper = await createIntakeSweeper(h.config, {
      connection,
      keys,
      logger: createLogger('silent'),
      producer,
      now: () => Date.now() + RECOVER_AFTER_MS + 1,
    });
    return await sweeper.sweep();
  } finally {
    await producer.close();
    connection.disconnect();
  }
}
