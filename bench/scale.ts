/**
 * The scale phase: jobs/s with 1, 2 and 4 `lorabot worker` processes, on one Redis and on a 3-master Redis Cluster
 * the bench starts on loopback, with Together answering at once (L = 0). Each run fills the paused image queue
 * through the gateway, then resumes it and times the workers draining it, so the gateway and the load generator
 * are idle while the workers are measured. CPU seconds of every process (workers, gateway, Redis from its own
 * `INFO cpu`, this process with the fakes) and of the whole machine (/proc/stat) say where the limit is.
 */
import { existsSync, readFileSync } from 'node:fs';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { QUEUE_NAMES } from '../src/queue/queue-names.js';
import { clusterAddress, createRedis } from '../src/queue/redis-connection.js';
import { LocalRedisCluster } from '../test/helpers/local-cluster.js';
import { log } from './load.js';
import { cpuSeconds } from './processes.js';
import { type Stack, sendAtFullSpeed, withStack } from './stack.js';
import { round } from './stats.js';

export const SCALE_WORKERS = [1, 2, 4];
export const ONE_REDIS = 'one Redis';
export const CLUSTER = '3-master Redis Cluster';

export interface ScalePointResult {
  redis: typeof ONE_REDIS | typeof CLUSTER;
  workers: number;
  jobs: number;
  finished: number;
  failed: number;
  seconds: number;
  jobsPerSecond: number;
  /** % of one core over the drain: each worker, all workers, the gateway, Redis (all nodes), bench and fakes. */
  cpuPercent: {
    eachWorker: Array<number | null>;
    workers: number | null;
    gateway: number | null;
    redis: number;
    benchAndFakes: number;
    /** The whole machine's busy time, in % of one core (200 % is two cores full). */
    machine: number | null;
    /** The machine's busy time that none of the above used: other processes on the machine. */
    others: number | null;
  };
  /** CPU milliseconds a job: all workers, Redis. */
  cpuMsPerJob: { workers: number | null; redis: number };
}

export type ScaleResult = Awaited<ReturnType<typeof runScale>>;

/** Every point of the scale phase: one Redis at `redisUrl`, then a cluster this starts and stops. */
export async function runScale(options: {
  redisUrl: string;
  work: string;
  jobs: number;
  concurrency: number;
}) {
  log(
    `\nScale: ${options.jobs} jobs through ${SCALE_WORKERS.join(', ')} worker processes (concurrency ${options.concurrency} each), L = 0, on one Redis and on a 3-master Redis Cluster`,
  );
  const points: ScalePointResult[] = [];
  for (const workers of SCALE_WORKERS) {
    points.push(await scalePoint({ ...options, workers, redis: ONE_REDIS, redisPorts: [] }));
  }
  const cluster = await new LocalRedisCluster().start();
  try {
    for (const workers of SCALE_WORKERS) {
      points.push(
        await scalePoint({
          ...options,
          workers,
          redis: CLUSTER,
          redisUrl: clusterAddress(cluster.ports.map((port) => ({ host: '127.0.0.1', port }))),
          clusterNodes: cluster.nodes,
          redisPorts: cluster.ports,
        }),
      );
    }
  } finally {
    await cluster.stop();
  }
  return { jobs: options.jobs, concurrency: options.concurrency, points };
}

async function scalePoint(options: {
  redisUrl: string;
  work: string;
  jobs: number;
  concurrency: number;
  workers: number;
  redis: ScalePointResult['redis'];
  clusterNodes?: string;
  /** The cluster's ports; empty: the one Redis at `redisUrl`. */
  redisPorts: number[];
}): Promise<ScalePointResult> {
  const stackOptions = {
    latencyMs: 0,
    concurrency: options.concurrency,
    workers: options.workers,
    ...(options.clusterNodes ? { clusterNodes: options.clusterNodes } : {}),
  };
  const processUrl = options.clusterNodes
    ? `redis://${options.clusterNodes.split(',')[0]}`
    : options.redisUrl;
  return withStack(processUrl, options.work, stackOptions, async (stack) => {
    const connection = createRedis(options.redisUrl, 'worker', 'bench-scale');
    const queue = new Queue(QUEUE_NAMES.image, { connection, prefix: stack.prefix });
    const redisNodes = options.redisPorts.length
      ? options.redisPorts.map((port) => new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1 }))
      : [new Redis(options.redisUrl, { maxRetriesPerRequest: 1 })];
    try {
      // Warm-up, not counted: JIT, connections, Lua scripts.
      const warm = await sendAtFullSpeed(stack, Math.min(200, options.jobs), 'SW');
      await stack.deliveries.waitFor(
        warm.map((s) => s.channel),
        60_000,
      );
      await queue.pause();
      const sent = await sendAtFullSpeed(stack, options.jobs, 'SC');
      const meter = await drainMeter(stack, redisNodes);
      await queue.resume();
      const finished = await stack.deliveries.waitFor(
        sent.map((s) => s.channel),
        300_000,
      );
      const failed = sent.filter((s) => stack.deliveries.failed.has(s.channel)).length;
      const lastDone = Math.max(...sent.map((s) => stack.deliveries.done.get(s.channel) ?? 0));
      const point = {
        ...(await meter.stop(lastDone)),
        redis: options.redis,
        workers: options.workers,
        finished,
        failed,
      };
      const cpu = point.cpuPercent;
      log(
        `   ${options.redis}, ${options.workers} worker${options.workers === 1 ? '' : 's'}: ${finished}/${options.jobs} finished, ${failed} failed; ${point.jobsPerSecond} jobs/s; CPU in % of a core: workers ${cpu.workers ?? '?'}, Redis ${cpu.redis}, gateway ${cpu.gateway ?? '?'}, bench and fakes ${cpu.benchAndFakes}, other processes ${cpu.others ?? '?'}`,
      );
      return point;
    } finally {
      for (const node of redisNodes) node.disconnect();
      await queue.close();
      connection.disconnect();
    }
  });
}

/** CPU of every process and of the machine from now to `stop`; jobs/s from now to the last job done. */
async function drainMeter(stack: Stack, redisNodes: Redis[]) {
  const startedAt = Date.now();
  const started = performance.now();
  const workersBefore = stack.workers.map((w) => cpuSeconds(w.child.pid));
  const gatewayBefore = cpuSeconds(stack.gateway.child.pid);
  const redisBefore = await redisCpuSeconds(redisNodes);
  const machineBefore = machineBusySeconds();
  const self = process.cpuUsage();
  return {
    async stop(lastDone: number) {
      const seconds = (performance.now() - started) / 1000;
      const drainSeconds = Math.max(0.001, (lastDone - startedAt) / 1000);
      const percent = (before: number | undefined, after: number | undefined) =>
        before === undefined || after === undefined ? null : round(((after - before) / seconds) * 100);
      const eachWorker = stack.workers.map((w, i) => percent(workersBefore[i], cpuSeconds(w.child.pid)));
      const workers = eachWorker.includes(null) ? null : round(eachWorker.reduce((s, w) => s! + w!, 0)!);
      const redisSeconds = (await redisCpuSeconds(redisNodes)) - redisBefore;
      const used = process.cpuUsage(self);
      const machine = percent(machineBefore, machineBusySeconds());
      const gateway = percent(gatewayBefore, cpuSeconds(stack.gateway.child.pid));
      const redis = round((redisSeconds / seconds) * 100);
      const benchAndFakes = round(((used.user + used.system) / 1e6 / seconds) * 100);
      const ours = [workers, gateway, redis, benchAndFakes];
      const jobsDrained = [...stack.deliveries.done.values()].filter((t) => t >= startedAt).length;
      return {
        jobs: jobsDrained,
        seconds: round(drainSeconds, 2),
        jobsPerSecond: round(jobsDrained / drainSeconds),
        cpuPercent: {
          eachWorker,
          workers,
          gateway,
          redis,
          benchAndFakes,
          machine,
          others:
            machine === null || ours.includes(null)
              ? null
              : round(Math.max(0, machine - ours.reduce((s, v) => s! + v!, 0)!)),
        },
        cpuMsPerJob: {
          workers: workers === null ? null : round((workers * seconds * 10) / (jobsDrained || 1), 2),
          redis: round((redisSeconds * 1000) / (jobsDrained || 1), 2),
        },
      };
    },
  };
}

/** CPU seconds the Redis servers have used (user + system), from their own `INFO cpu`: summed over the nodes. */
async function redisCpuSeconds(nodes: Redis[]): Promise<number> {
  let total = 0;
  for (const node of nodes) {
    const info = await node.info('cpu');
    const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
    total += field('used_cpu_user') + field('used_cpu_sys');
  }
  return total;
}

/** CPU seconds the whole machine has been busy (every core; not idle or waiting on I/O), from /proc/stat. */
function machineBusySeconds(): number | undefined {
  if (!existsSync('/proc/stat')) return undefined;
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.slice(0, 8).reduce((s, v) => s + v, 0);
  return (total - fields[3]! - fields[4]!) / 100;
}

/** Where the scale stops, in words: how much each side used of the machine at the most workers. */
export function scaleMarkdown(r: ScaleResult, cores: number): string[] {
  const table = [
    '| Redis | Workers | Jobs/s | Workers CPU | Each worker | Redis CPU | Gateway | Bench and fakes | Other processes | Machine | Worker ms a job | Redis ms a job |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...r.points.map(
      (p) =>
        `| ${p.redis} | ${p.workers} | ${p.jobsPerSecond} | ${p.cpuPercent.workers ?? '?'} % | ${p.cpuPercent.eachWorker.map((w) => w ?? '?').join(' / ')} % | ${p.cpuPercent.redis} % | ${p.cpuPercent.gateway ?? '?'} % | ${p.cpuPercent.benchAndFakes} % | ${p.cpuPercent.others ?? '?'} % | ${p.cpuPercent.machine ?? '?'} % of ${cores * 100} % | ${p.cpuMsPerJob.workers ?? '?'} | ${p.cpuMsPerJob.redis} |`,
    ),
  ];
  const failed = r.points.reduce((s, p) => s + r.jobs - p.finished + p.failed, 0);
  return [
    `${r.jobs} \`/flux\` jobs queued through the gateway into the paused image queue, then drained by the workers (concurrency ${r.concurrency} each) with Together answering at once; jobs/s from the resume to the last Done. CPU is in % of one core over the drain, from each process's CPU time (Redis from its own \`INFO cpu\`, the machine from /proc/stat; other processes are the machine's busy time that none of these used).${failed ? ` **${failed} jobs did not finish.**` : ''}`,
    '',
    ...table,
  ];
}
