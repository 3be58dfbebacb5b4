import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { jobData, planCommand } from '../../src/app/command-plan.js';
import { type Config, loadConfig } from '../../src/config/index.js';
import { parseCommand } from '../../src/core/command-parser.js';
import { JobProducer } from '../../src/queue/job-producer.js';
import { Ledger } from '../../src/queue/ledger.js';
import { createRedis, waitReady } from '../../src/queue/redis-connection.js';
import { RedisKeys } from '../../src/queue/redis-keys.js';
import { FakeSlack } from '../contract/fakes/fake-slack.js';
import { FakeTogether } from '../contract/fakes/fake-together.js';
import { writeTestConfig } from './lorabot-harness.js';
import { deleteByPrefix, redisUrl } from './redis.js';

/**
 * What tests of `lorabot worker` processes share: the fake Together and Slack, the env a worker process gets,
 * and a producer that queues `/flux` jobs from Slack the way the gateway does.
 */
export interface WorkerWorld {
  together: FakeTogether;
  slack: FakeSlack;
  config: Config;
  /** The environment for `startWorkerProcess`. */
  env: Record<string, string>;
  ledger: Ledger;
  /** Queues `/flux <text>` from `userId` in `channel`, under a parent message seeded in the fake Slack. */
  enqueueFlux(channel: string, text: string, userId: string): Promise<{ jobId: string; parentTs: string }>;
  close(): Promise<void>;
}

/** Starts the fakes and a producer on a unique key prefix; `queueLines` are extra `queue:` settings. */
export async function startWorkerWorld(queueLines: string[]): Promise<WorkerWorld> {
  const prefix = `{lorabot-test-${randomUUID().slice(0, 8)}}`;
  const together = await new FakeTogether({ latencyMs: 0 }).start();
  const slack = await new FakeSlack().start();
  const env = {
    REDIS_URL: redisUrl(),
    TOGETHER_API_KEY: together.apiKey,
    TOGETHER_BASE_URL: together.baseUrl,
    SLACK_BOT_TOKEN: slack.botToken,
    SLACK_SIGNING_SECRET: 'unused-here',
    SLACK_API_URL: slack.apiUrl,
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
    LORABOT_CONFIG: writeTestConfig(prefix, '', queueLines),
  };
  const loaded = loadConfig({ env, cwd: tmpdir() });
  if (!loaded.success) throw new Error(loaded.error.message);
  const config = loaded.data;
  const connection = createRedis(redisUrl(), 'producer', 'worker-world');
  await waitReady(connection);
  const keys = new RedisKeys(prefix);
  const producer = new JobProducer(connection, keys, config.queue);
  return {
    together,
    slack,
    config,
    env,
    ledger: new Ledger(connection, keys),
    async enqueueFlux(channel, text, userId) {
      const parsed = parseCommand('flux', text, config.core);
      if (!parsed.success || parsed.data.kind !== 'flux') throw new Error(`not a /flux command: ${text}`);
      const parentTs = slack.seedMessage(channel, 'parent');
      const jobId = `worker-world-${randomUUID()}`;
      const target = {
        platform: 'slack' as const,
        workspaceId: slack.teamId,
        channelId: channel,
        userId,
        parentTs,
      };
      await producer.enqueue(
        jobId,
        jobData(parsed.data, planCommand(parsed.data, config.core), target, Date.now()),
      );
      return { jobId, parentTs };
    },
    async close() {
      await producer.close();
      await deleteByPrefix(connection, prefix);
      connection.disconnect();
      await Promise.all([together.close(), slack.close()]);
    },
  };
}
