import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { inject } from 'vitest';
import { jobData, planCommand } from '../../src/app/command-plan.js';
import { type Config, loadConfig } from '../../src/config/index.js';
import { parseCommand } from '../../src/core/command-parser.js';
import { JobProducer } from '../../src/queue/job-producer.js';
import { Ledger, type LedgerEntry } from '../../src/queue/ledger.js';
import { createRedis, waitReady } from '../../src/queue/redis-connection.js';
import { RedisKeys } from '../../src/queue/redis-keys.js';
import { FakeDiscord } from '../contract/fakes/fake-discord.js';
import { FakeSlack } from '../contract/fakes/fake-slack.js';
import { FakeTogether } from '../contract/fakes/fake-together.js';
import { writeTestConfig } from './lorabot-harness.js';
import { deleteByPrefix, type RedisKind, redisAddress, redisUrl } from './redis.js';
import { startWorkerProcess, stopWorkerProcess } from './worker-process.js';

/** A `/flux` job queued for a Slack thread: where its results and messages go. */
export interface QueuedImage {
  jobId: string;
  channel: string;
  parentTs: string;
  userId: string;
}

/**
 * A real `lorabot worker` process on Redis with fake Together and Slack, and the producer side to queue jobs for
 * it: for tests that kill the worker (SIGKILL) and start another. Locks are short, so a killed worker's jobs are
 * taken over within seconds; `queue` adds settings (e.g. `max_stalled_count`).
 */
export class WorkerRig {
  readonly prefix = `{lorabot-test-${randomUUID().slice(0, 8)}}`;
  together!: FakeTogether;
  slack!: FakeSlack;
  /** Started with `options.discord`: the worker then delivers Discord jobs too. */
  discord: FakeDiscord | undefined;
  config!: Config;
  producer!: JobProducer;
  ledger!: Ledger;
  connection!: ReturnType<typeof createRedis>;
  /** The environment a `lorabot worker` process of this rig gets. */
  env: Record<string, string> = {};
  private worker: ChildProcess | undefined;

  /** `redis`: which of the suite's Redis the producer and the worker processes run on. */
  constructor(readonly redis: RedisKind = 'single') {}

  /**
   * `options.locks: 'default'` keeps the configured 30 s lock (tests of a graceful stop); `options.worker: false`
   * leaves starting workers to the test (`startWorkerProcess(rig.env)`).
   */
  async start(
    queue: string[],
    options: { locks?: 'short' | 'default'; worker?: boolean; discord?: boolean; configExtra?: string } = {},
  ): Promise<this> {
    const locks = options.locks === 'default' ? [] : ['lock_ms: 2000', 'stalled_interval_ms: 1000'];
    this.together = await new FakeTogether({ latencyMs: 0 }).start();
    this.slack = await new FakeSlack().start();
    if (options.discord) this.discord = await new FakeDiscord().start();
    this.env = {
      REDIS_URL: redisUrl(),
      // Empty is unset: a single-Redis rig must not pick up a cluster from the environment.
      REDIS_CLUSTER_NODES: this.redis === 'cluster' ? inject('redisClusterNodes') : '',
      TOGETHER_API_KEY: this.together.apiKey,
      TOGETHER_BASE_URL: this.together.baseUrl,
      SLACK_BOT_TOKEN: this.slack.botToken,
      SLACK_SIGNING_SECRET: 'unused-here',
      SLACK_API_URL: this.slack.apiUrl,
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      LORABOT_CONFIG: writeTestConfig(this.prefix, options.configExtra ?? '', [...locks, ...queue]),
      ...(this.discord
        ? {
            DISCORD_TOKEN: this.discord.token,
            DISCORD_APPLICATION_ID: this.discord.applicationId,
            DISCORD_API_URL: this.discord.apiUrl,
          }
        : {}),
    };
    const loaded = loadConfig({ env: this.env, cwd: tmpdir() });
    if (!loaded.success) throw new Error(loaded.error.message);
    this.config = loaded.data;
    this.connection = createRedis(redisAddress(this.redis), 'producer', 'worker-rig');
    await waitReady(this.connection);
    const keys = new RedisKeys(this.prefix);
    this.producer = new JobProducer(this.connection, keys, this.config.queue);
    this.ledger = new Ledger(this.connection, keys);
    if (options.worker !== false) this.worker = await startWorkerProcess(this.env);
    return this;
  }

  /** Queues `/flux <text>` for a new thread in `channel`, asked by `userId`. */
  async enqueue(text: string, where: { channel: string; userId: string }): Promise<QueuedImage> {
    const parsed = parseCommand('flux', text, this.config.core);
    if (!parsed.success || parsed.data.kind !== 'flux') throw new Error('bad command');
    const parentTs = this.slack.seedMessage(where.channel, 'parent');
    const jobId = `rig-${randomUUID()}`;
    const target = {
      platform: 'slack' as const,
      workspaceId: this.slack.teamId,
      channelId: where.channel,
      userId: where.userId,
      parentTs,
    };
    const plan = planCommand(parsed.data, this.config.core);
    await this.producer.enqueue(jobId, jobData(parsed.data, plan, target, Date.now()));
    return { jobId, parentTs, ...where };
  }

  /** Kills the worker (SIGKILL: a crash) and starts another. */
  async killAndRestart(): Promise<void> {
    if (this.worker) await stopWorkerProcess(this.worker);
    this.worker = await startWorkerProcess(this.env);
  }

  /** The job's status line (its parent message). */
  status(job: QueuedImage): string {
    return this.slack.messages.find((m) => m.ts === job.parentTs)?.text ?? '';
  }

  /** Messages in the job's thread that start with `lead` (after the requester's mention). */
  notices(job: QueuedImage, lead: string) {
    return this.slack
      .thread(job.channel, job.parentTs)
      .filter((m) => m.text.startsWith(`<@${job.userId}> ${lead}`));
  }

  /** This month's ledger entries of the job. */
  async entriesOf(job: QueuedImage): Promise<LedgerEntry[]> {
    const entries = await this.ledger.entries(new Date().toISOString().slice(0, 7));
    return entries.filter((e) => e.jobId === job.jobId);
  }

  async close(): Promise<void> {
    if (this.worker) await stopWorkerProcess(this.worker);
    await this.producer?.close();
    if (this.connection) {
      await deleteByPrefix(this.connection, this.prefix);
      this.connection.disconnect();
    }
    await Promise.all([this.together?.close(), this.slack?.close(), this.discord?.close()]);
  }
}
