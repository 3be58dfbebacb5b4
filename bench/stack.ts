/**
 * What every pipeline phase of the bench runs on: the fake Together and Slack, a config file, one `lorabot gateway`
 * and one or more `lorabot worker` processes on a fresh queue prefix, on one Redis or a Redis Cluster.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Pool } from 'undici';
import { freePort } from '../src/queue/redis-url.js';
import { FakeSlack } from '../test/contract/fakes/fake-slack.js';
import { FakeTogether } from '../test/contract/fakes/fake-together.js';
import { fakeSlackEnv } from '../test/helpers/fake-env.js';
import { deleteByPrefix, SIGNING_SECRET, sendSlash, sleep } from './load.js';
import { cpuSeconds, type LorabotProcess, startLorabot, stopLorabot } from './processes.js';
import { round } from './stats.js';

export interface Stack {
  together: FakeTogether;
  slack: FakeSlack;
  gateway: LorabotProcess;
  /** The first worker. */
  worker: LorabotProcess;
  workers: LorabotProcess[];
  gatewayUrl: string;
  prefix: string;
  pool: Pool;
  deliveries: DeliveryWatcher;
  close(): Promise<void>;
}

export interface StackOptions {
  latencyMs: number;
  concurrency: number;
  ratePerMinute?: number;
  imagesPerMinute?: number;
  /** Worker processes (1 unless given). */
  workers?: number;
  /** A Redis Cluster's nodes (`host:port,…`): the processes run on it instead of `redisUrl`. */
  clusterNodes?: string;
  /** Runs the first worker under `node --cpu-prof`, writing its profile into this directory when it stops. */
  workerProfileDir?: string;
}

/** One signed slash command as sent: its channel, when, how long the ack took and its status. */
export interface Sent {
  channel: string;
  sentAt: number;
  ackMs: number;
  status: number;
}

/**
 * Follows the fake Slack's calls, by channel: when the gateway posted each command's status message, when the
 * worker set it Running, and when it turned Done (or Failed).
 */
export class DeliveryWatcher {
  readonly posted = new Map<string, number>();
  readonly running = new Map<string, number>();
  readonly done = new Map<string, number>();
  readonly failed = new Map<string, number>();
  private seen = 0;

  constructor(private readonly slack: FakeSlack) {}

  scan(): void {
    const calls = this.slack.calls;
    for (; this.seen < calls.length; this.seen++) {
      const call = calls[this.seen]!;
      if (call.outcome !== 'ok') continue;
      const channel = String(call.args.channel);
      if (call.method === 'chat.postMessage' && call.args.thread_ts === undefined) {
        if (!this.posted.has(channel)) this.posted.set(channel, call.at);
        continue;
      }
      if (call.method !== 'chat.update') continue;
      const text = String(call.args.text ?? '');
      if (text.includes('Running')) this.running.set(channel, call.at);
      else if (text.includes('Done')) this.done.set(channel, call.at);
      else if (text.includes('Failed')) this.failed.set(channel, call.at);
    }
  }

  /** Waits until every one of `channels` has finished, or the time is up; returns how many did. */
  async waitFor(channels: string[], timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.scan();
      const finished = channels.filter((c) => this.done.has(c) || this.failed.has(c)).length;
      if (finished === channels.length || Date.now() > deadline) return finished;
      await sleep(200);
    }
  }
}

/** Where the processes of one run listen and what they start with. */
export interface StackEnv {
  prefix: string;
  port: number;
  env: Record<string, string>;
}

/**
 * A config file in `work` on a fresh queue prefix (`{lorabot-<label>-…}`), with `queue` lines under its `queue:`
 * and `rest` after it, and the environment that starts a gateway or a worker on it against the fakes.
 */
export async function stackEnv(
  work: string,
  label: string,
  fakes: { together: FakeTogether; slack: FakeSlack; redisUrl: string; clusterNodes?: string },
  queue: readonly string[],
  rest: readonly string[] = [],
): Promise<StackEnv> {
  const prefix = `{lorabot-${label}-${randomUUID().slice(0, 8)}}`;
  const configPath = join(work, `${prefix}.yaml`);
  writeFileSync(configPath, ['queue:', `  prefix: "${prefix}"`, ...queue, ...rest].join('\n'));
  const port = await freePort();
  const env = {
    ...fakeSlackEnv(fakes.together, fakes.slack, SIGNING_SECRET),
    REDIS_URL: fakes.redisUrl,
    ...(fakes.clusterNodes ? { REDIS_CLUSTER_NODES: fakes.clusterNodes } : {}),
    PORT: String(port),
    HOST: '127.0.0.1',
    LORABOT_CONFIG: configPath,
  };
  return { prefix, port, env };
}

/** Fakes, a config file, a gateway and the workers on a fresh queue prefix; removed afterwards. */
export async function withStack<T>(
  redisUrl: string,
  work: string,
  options: StackOptions,
  run: (stack: Stack) => Promise<T>,
): Promise<T> {
  const together = await new FakeTogether({
    latencyMs: options.latencyMs,
    reuseImages: true,
    ...(options.imagesPerMinute ? { imagesPerMinute: options.imagesPerMinute } : {}),
  }).start();
  const slack = await new FakeSlack().start();
  const { prefix, port, env } = await stackEnv(
    work,
    'bench',
    { together, slack, redisUrl, ...(options.clusterNodes ? { clusterNodes: options.clusterNodes } : {}) },
    [
      // One sender makes every command: no per-person cap.
      '  per_person_max_jobs: null',
      `  image: { concurrency: ${options.concurrency}, rate_limit_per_minute: ${options.ratePerMinute ?? 100_000} }`,
      '  chat: { concurrency: 8, rate_limit_per_minute: 100000 }',
    ],
  );
  const gateway = await startLorabot('gateway', env);
  const workers = await Promise.all(
    Array.from({ length: options.workers ?? 1 }, (_, i) =>
      startLorabot('worker', env, i === 0 ? options.workerProfileDir : undefined),
    ),
  );
  const gatewayUrl = `http://127.0.0.1:${port}`;
  // Idle connections are closed well before the gateway's 5 s keep-alive ends, even with this process's event loop
  // late on a busy machine: a request sent on a connection the server is closing would be reset.
  const pool = new Pool(gatewayUrl, {
    connections: 128,
    keepAliveMaxTimeout: 2000,
    keepAliveTimeoutThreshold: 1000,
  });
  const stack: Stack = {
    together,
    slack,
    gateway,
    worker: workers[0]!,
    workers,
    gatewayUrl,
    prefix,
    pool,
    deliveries: new DeliveryWatcher(slack),
    async close() {
      await Promise.all([gateway, ...workers].map(stopLorabot));
      await pool.close();
      await Promise.all([together.close(), slack.close()]);
      // A cluster the bench started is stopped whole; on a Redis it did not start, it deletes only its own keys.
      if (options.clusterNodes) return;
      const cleaner = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
      await deleteByPrefix(cleaner, prefix);
      cleaner.disconnect();
    },
  };
  try {
    return await run(stack);
  } finally {
    await stack.close();
  }
}

/** One signed `/flux` slash command into the gateway, in its own channel. */
export async function slash(stack: Stack, channel: string): Promise<Sent> {
  const ack = await sendSlash(stack.pool, stack.slack, {
    command: '/flux',
    text: `a bench lighthouse ${channel} --size 256x256 --steps 4`,
    channel,
    user: 'U0BENCH',
    responseUrl: stack.slack.newResponseUrl(),
  });
  return { channel, sentAt: ack.sentAt, ackMs: ack.ackMs, status: ack.status };
}

/** Sends `total` commands from `senders` concurrent senders, each sending its next on its ack. */
export async function sendAtFullSpeed(
  stack: Stack,
  total: number,
  tag: string,
  senders = 64,
): Promise<Sent[]> {
  const sent: Sent[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: senders }, async () => {
      while (next < total) sent.push(await slash(stack, `${tag}${next++}`));
    }),
  );
  return sent;
}

/**
 * CPU used by the gateway, the workers (together) and this process (fakes and load) over a phase, in % of one core,
 * and the workers' CPU time in milliseconds (what a job costs them: divide by the jobs the phase ran).
 */
export function cpuMeter(stack: Stack) {
  const started = performance.now();
  const processes = [stack.gateway, ...stack.workers];
  const before = processes.map((p) => cpuSeconds(p.child.pid));
  const self = process.cpuUsage();
  return {
    stop() {
      const seconds = (performance.now() - started) / 1000;
      const after = processes.map((p) => cpuSeconds(p.child.pid));
      const percent = (i: number) => {
        const [b, a] = [before[i], after[i]];
        return b === undefined || a === undefined ? null : round(((a - b) / seconds) * 100);
      };
      const workers = stack.workers.map((_, i) => percent(i + 1));
      const workerMs = stack.workers.map((_, i) => {
        const [b, a] = [before[i + 1], after[i + 1]];
        return b === undefined || a === undefined ? null : (a - b) * 1000;
      });
      const used = process.cpuUsage(self);
      return {
        gateway: percent(0),
        worker: workers.includes(null) ? null : round(workers.reduce((s, w) => s! + w!, 0)!),
        workerMs: workerMs.includes(null) ? null : round(workerMs.reduce((s, w) => s! + w!, 0)!),
        benchAndFakes: round(((used.user + used.system) / 1e6 / seconds) * 100),
      };
    },
  };
}
