import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { jobData, planCommand } from '../../src/app/command-plan.js';
import { loadConfig } from '../../src/config/index.js';
import { parseCommand } from '../../src/core/command-parser.js';
import { JobProducer } from '../../src/queue/job-producer.js';
import { createRedis, waitReady } from '../../src/queue/redis-connection.js';
import { RedisKeys } from '../../src/queue/redis-keys.js';
import { FakeTogether } from '../contract/fakes/fake-together.js';
import { writeTestConfig } from '../helpers/lorabot-harness.js';
import { deleteByPrefix, ON_EACH_REDIS, redisAddress, redisUrl } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';
import { startWorkerProcess, stopWorkerProcess } from '../helpers/worker-process.js';

const JOBS = 300;

describe.each(ON_EACH_REDIS)('scale-out: 3 worker processes on $where', ({ kind }) => {
  const prefix = `{lorabot-test-${randomUUID().slice(0, 8)}}`;
  let together: FakeTogether;
  let workers: ChildProcess[] = [];
  let connection: ReturnType<typeof createRedis>;
  let producer: JobProducer;
  let env: Record<string, string>;

  beforeAll(async () => {
    // 20 ms of Together latency per answer, so that no single worker can drain the queue alone.
    together = await new FakeTogether({ latencyMs: 20 }).start();
    env = {
      REDIS_URL: redisUrl(),
      // Empty is unset: the single-Redis run must not pick up a cluster from the environment.
      REDIS_CLUSTER_NODES: kind === 'cluster' ? inject('redisClusterNodes') : '',
      TOGETHER_API_KEY: together.apiKey,
      TOGETHER_BASE_URL: together.baseUrl,
      LOG_LEVEL: 'info',
      LORABOT_CONFIG: writeTestConfig(prefix),
    };
    connection = createRedis(redisAddress(kind), 'producer', 'scale-test');
    await waitReady(connection);
    const loaded = loadConfig({ env, cwd: tmpdir() });
    if (!loaded.success) throw new Error(loaded.error.message);
    producer = new JobProducer(connection, new RedisKeys(prefix), loaded.data.queue);
    workers = await Promise.all([1, 2, 3].map(() => startWorkerProcess(env)));
  }, 90_000);

  afterAll(async () => {
    await Promise.all(workers.map((w) => stopWorkerProcess(w, 'SIGTERM')));
    await producer.close();
    await deleteByPrefix(connection, prefix);
    connection.disconnect();
    await together.close();
  });

  it(`process ${JOBS} jobs, each exactly once, spread across all three`, async () => {
    const loaded = loadConfig({ env, cwd: tmpdir() });
    if (!loaded.success) throw new Error(loaded.error.message);
    const ids: string[] = [];
    for (let i = 0; i < JOBS; i++) {
      const parsed = parseCommand('ask', `scale question ${i}`, loaded.data.core);
      if (!parsed.success || parsed.data.kind !== 'ask') throw new Error('bad command');
      const id = `scale-${i}`;
      ids.push(id);
      await producer.enqueue(
        id,
        jobData(
          parsed.data,
          planCommand(parsed.data, loaded.data.core),
          { platform: 'cli', userId: 'scale' },
          Date.now(),
        ),
      );
    }
    const queue = producer.queues.chat;
    await waitFor(
      'every job to complete',
      async () => (await queue.getJobCounts('completed')).completed === JOBS,
      120_000,
    );
    const jobs = await Promise.all(ids.map((id) => Job.fromId(queue, id)));
    const byWorker = new Map<string, number>();
    for (const job of jobs) {
      expect(job?.returnvalue?.text).toMatch(/^You asked: scale question \d+$/);
      expect(job?.attemptsMade).toBe(1);
      byWorker.set(job!.processedBy!, (byWorker.get(job!.processedBy!) ?? 0) + 1);
    }
    expect(byWorker.size).toBe(3);
    for (const count of byWorker.values()) expect(count).toBeGreaterThan(JOBS / 10);
    const calls = together.callsTo('/chat/completions').map((c) => JSON.stringify(c.body));
    for (let i = 0; i < JOBS; i++) {
      expect(
        calls.filter((body) => body.includes(`"scale question ${i}"`)),
        `job ${i}`,
      ).toHaveLength(1);
    }
    console.log(`scale-out (${kind}): ${JOBS} jobs, per worker ${[...byWorker.values()].join(' / ')}`);
    // A graceful stop: SIGTERM makes a worker finish what it holds and exit 0.
    expect(await stopWorkerProcess(workers.pop()!, 'SIGTERM')).toBe(0);
  }, 180_000);
});
