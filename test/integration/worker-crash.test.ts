import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobData, planCommand } from '../../src/app/command-plan.js';
import { type Config, loadConfig } from '../../src/config/index.js';
import { parseCommand } from '../../src/core/command-parser.js';
import { JobProducer } from '../../src/queue/job-producer.js';
import { Ledger } from '../../src/queue/ledger.js';
import { createRedis, waitReady } from '../../src/queue/redis-connection.js';
import { RedisKeys } from '../../src/queue/redis-keys.js';
import { FakeSlack } from '../contract/fakes/fake-slack.js';
import { FakeTogether } from '../contract/fakes/fake-together.js';
import { writeTestConfig } from '../helpers/lorabot-harness.js';
import { deleteByPrefix, redisUrl } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';
import { startWorkerProcess, stopWorkerProcess } from '../helpers/worker-process.js';

const prefix = `{lorabot-test-${randomUUID().slice(0, 8)}}`;
let together: FakeTogether;
let slack: FakeSlack;
let config: Config;
let env: Record<string, string>;
let connection: ReturnType<typeof createRedis>;
let producer: JobProducer;
let ledger: Ledger;
let worker: ChildProcess | undefined;

async function enqueue(channel: string, text: string): Promise<{ jobId: string; parentTs: string }> {
  const parsed = parseCommand('flux', text, config.core);
  if (!parsed.success || parsed.data.kind !== 'flux') throw new Error('bad command');
  const plan = planCommand(parsed.data, config.core);
  const parentTs = slack.seedMessage(channel, 'parent');
  const jobId = `crash-${randomUUID()}`;
  const target = {
    platform: 'slack' as const,
    workspaceId: slack.teamId,
    channelId: channel,
    userId: 'U0CRASH',
    parentTs,
  };
  await producer.enqueue(jobId, jobData(parsed.data, plan, target, Date.now()));
  return { jobId, parentTs };
}

beforeAll(async () => {
  together = await new FakeTogether({ latencyMs: 0 }).start();
  slack = await new FakeSlack().start();
  env = {
    REDIS_URL: redisUrl(),
    TOGETHER_API_KEY: together.apiKey,
    TOGETHER_BASE_URL: together.baseUrl,
    SLACK_BOT_TOKEN: slack.botToken,
    SLACK_SIGNING_SECRET: 'unused-here',
    SLACK_API_URL: slack.apiUrl,
    LOG_LEVEL: 'info',
    // Short locks so a killed worker's job is picked up in seconds, not after the default 30 s.
    LORABOT_CONFIG: writeTestConfig(prefix, '', [
      'lock_ms: 2000',
      'stalled_interval_ms: 1000',
      'max_stalled_count: 3',
    ]),
  };
  const loaded = loadConfig({ env, cwd: tmpdir() });
  if (!loaded.success) throw new Error(loaded.error.message);
  config = loaded.data;
  connection = createRedis(redisUrl(), 'producer', 'crash-test');
  await waitReady(connection);
  const keys = new RedisKeys(prefix);
  producer = new JobProducer(connection, keys, config.queue);
  ledger = new Ledger(connection, keys);
  worker = await startWorkerProcess(env);
}, 60_000);

afterAll(async () => {
  if (worker) await stopWorkerProcess(worker);
  await producer.close();
  await deleteByPrefix(connection, prefix);
  connection.disconnect();
  await Promise.all([together.close(), slack.close()]);
});

interface Phase {
  name: string;
  /** Arms a fault that holds the job at the phase. */
  arm(): void;
  /** True once the job is held there. */
  reached(jobId: string, before: number): boolean;
  /** Together calls expected in all for the job. */
  calls: number;
}

const phases: Phase[] = [
  {
    name: 'before the Together call (stuck posting "running")',
    arm: () => slack.inject('chat.update', { kind: 'hang' }),
    reached: () => slack.callsTo('chat.update').at(-1)?.outcome === 'hung',
    calls: 1,
  },
  {
    name: 'during the Together call',
    arm: () => together.inject('/images/generations', { kind: 'delay', ms: 60_000 }),
    reached: (_, before) => together.callsTo('/images/generations').length > before,
    calls: 2,
  },
  {
    name: 'after the Together call, before delivery',
    arm: () => slack.inject('files.getUploadURLExternal', { kind: 'hang' }),
    reached: () => slack.callsTo('files.getUploadURLExternal').at(-1)?.outcome === 'hung',
    calls: 1,
  },
  {
    name: 'halfway through delivery (image posted, notice not yet)',
    arm: () => slack.inject('chat.postMessage', { kind: 'hang' }),
    reached: () => slack.callsTo('chat.postMessage').at(-1)?.outcome === 'hung',
    calls: 1,
  },
];

describe('worker crash (SIGKILL) and restart', () => {
  for (const [index, phase] of phases.entries()) {
    it(`recovers a job killed ${phase.name}: one result, one charge`, async () => {
      const channel = `C0CRASH${index}`;
      phase.arm();
      const before = together.callsTo('/images/generations').length;
      const { jobId, parentTs } = await enqueue(channel, `crash test ${index} --size 256x256`);
      await waitFor(`the job to reach: ${phase.name}`, () => phase.reached(jobId, before), 20_000);
      await stopWorkerProcess(worker!);
      worker = await startWorkerProcess(env);
      await waitFor(
        'the final status',
        () => slack.messages.find((m) => m.ts === parentTs)?.text.includes('Done'),
        30_000,
      );
      const prompt = `crash test ${index}`;
      const calls = together
        .callsTo('/images/generations')
        .filter((c) => JSON.stringify(c.body).includes(prompt));
      expect(calls).toHaveLength(phase.calls);
      expect(slack.files.filter((f) => f.thread_ts === parentTs)).toHaveLength(1);
      const notices = slack
        .thread(channel, parentTs)
        .filter((m) => m.text.startsWith('<@U0CRASH> Your image is ready'));
      expect(notices).toHaveLength(1);
      const entries = (await ledger.entries(new Date().toISOString().slice(0, 7))).filter(
        (e) => e.jobId === jobId,
      );
      expect(entries).toHaveLength(1);
      expect(entries[0]!.micros).toBe(35_000);
    }, 90_000);
  }
});
