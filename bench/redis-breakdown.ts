/**
 * Where a job's Redis commands go: MONITOR on a Redis only the bench uses, over a short run, every command grouped
 * by the call that sent it (a BullMQ script by name, a lorabot script by the keys it touches, a plain command),
 * by command name (inside scripts too) and by the family of key it touches (queue, journal, ledger, budget…).
 */
import { createHash } from 'node:crypto';
import * as bullmqScripts from 'bullmq/dist/esm/scripts/index.js';
import { Redis } from 'ioredis';
import { PrivateRedis } from '../test/helpers/private-redis.js';
import { log, openLoop, sleep } from './load.js';
import { slash, withStack } from './stack.js';
import { round } from './stats.js';

/** One command as MONITOR reported it: its arguments, and `lua` or the client's address. */
export interface Monitored {
  args: string[];
  source: string;
}

/** Counts per job, most first. */
export type Counts = Array<{ name: string; perJob: number }>;

export interface RedisBreakdown {
  jobs: number;
  seconds: number;
  /** Commands clients sent (a script counts once), and commands scripts ran, per job. */
  sentPerJob: number;
  inScriptsPerJob: number;
  /** Each call clients sent, with the connection it came from and the commands it ran inside (scripts). */
  calls: Array<{ name: string; who: string; perJob: number; insidePerJob: number }>;
  byCommand: Counts;
  byFamily: Counts;
}

/** A BullMQ script's name by the SHA1 its `EVALSHA` carries (ioredis' `defineCommand` sends the script's SHA1). */
const BULLMQ_SCRIPTS = new Map(
  Object.values(bullmqScripts as Record<string, { name: string; content: string }>).map((s) => [
    createHash('sha1').update(s.content).digest('hex'),
    s.name,
  ]),
);

/** Starts MONITOR on a connection of its own to `redis`'s server; `stop()` closes it and returns what it saw. */
export async function startMonitor(redis: Redis): Promise<{ stop(): Promise<Monitored[]> }> {
  const seen: Monitored[] = [];
  const monitor = await redis.monitor();
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    seen.push({ args, source });
  });
  return {
    async stop() {
      monitor.disconnect();
      return seen;
    },
  };
}

/** The name each client address has (`CLIENT SETNAME`), from `CLIENT LIST`. */
export async function clientNames(redis: Redis): Promise<Map<string, string>> {
  const list = String(await redis.client('LIST'));
  const names = new Map<string, string>();
  for (const line of list.split('\n')) {
    const addr = /\baddr=(\S+)/.exec(line)?.[1];
    const name = /\bname=(\S*)/.exec(line)?.[1];
    if (addr) names.set(addr, name || '(unnamed)');
  }
  return names;
}

/** The family of a key under `prefix`: which part of lorabot (or BullMQ) it belongs to. */
export function keyFamily(key: string | undefined, prefix: string): string {
  if (key === undefined) return '(no key)';
  const first = key.slice(prefix.length + 1).split(':')[0] ?? '';
  const families: Record<string, string> = {
    image: 'queue (BullMQ)',
    chat: 'queue (BullMQ)',
    steps: 'journal',
    checkpoint: 'journal',
    ledger: 'ledger',
    reserve: 'budget',
    claim: 'dedupe (request claims)',
    durations: 'ETA durations',
    cancelled: 'cancel',
    cancel: 'cancel',
  };
  return families[first] ?? first;
}

/** Groups what MONITOR saw into calls, command names and key families, per job. */
export function breakdown(
  seen: readonly Monitored[],
  options: { prefix: string; jobs: number; seconds: number; names: Map<string, string> },
): RedisBreakdown {
  const { prefix, jobs } = options;
  const firstKey = (args: readonly string[]) => args.slice(1).find((a) => a.startsWith(prefix));
  const calls = new Map<string, { name: string; who: string; count: number; inside: number }>();
  const byCommand = new Map<string, number>();
  const byFamily = new Map<string, number>();
  const add = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
  let current: { inside: number } | undefined;
  let sent = 0;
  let inScripts = 0;
  for (const { args, source } of seen) {
    const command = (args[0] ?? '').toUpperCase();
    const key = firstKey(args);
    add(byCommand, command);
    add(byFamily, keyFamily(key, prefix));
    if (source === 'lua') {
      inScripts++;
      if (current) current.inside++;
      continue;
    }
    sent++;
    const name = callName(command, args, key, prefix);
    const who = options.names.get(source) ?? '(unknown)';
    const entry = calls.get(`${name}|${who}`) ?? { name, who, count: 0, inside: 0 };
    entry.count++;
    calls.set(`${name}|${who}`, entry);
    current = command === 'EVAL' || command === 'EVALSHA' ? entry : undefined;
  }
  const perJob = (n: number) => round(n / (jobs || 1), 2);
  const sorted = (map: Map<string, number>) =>
    [...map.entries()].sort((a, b) => b[1] - a[1]).map(([name, n]) => ({ name, perJob: perJob(n) }));
  return {
    jobs,
    seconds: round(options.seconds),
    sentPerJob: perJob(sent),
    inScriptsPerJob: perJob(inScripts),
    calls: [...calls.values()]
      .sort((a, b) => b.count + b.inside - (a.count + a.inside))
      .map((c) => ({ name: c.name, who: c.who, perJob: perJob(c.count), insidePerJob: perJob(c.inside) })),
    byCommand: sorted(byCommand),
    byFamily: sorted(byFamily),
  };
}

function callName(command: string, args: readonly string[], key: string | undefined, prefix: string): string {
  const bullmq = command === 'EVALSHA' ? BULLMQ_SCRIPTS.get(args[1] ?? '') : undefined;
  if (bullmq) return `EVALSHA ${bullmq}`;
  // lorabot's own scripts (LuaScript: EVAL once on a connection, then EVALSHA), by the keys they touch.
  if (command === 'EVAL' || command === 'EVALSHA')
    return `${command} (a script on ${keyFamily(key, prefix)})`;
  return `${command} ${keyFamily(key, prefix)}`;
}

/** The breakdown as Markdown tables. */
export function breakdownMarkdown(b: RedisBreakdown): string[] {
  const top = (counts: Counts, n: number) =>
    counts
      .slice(0, n)
      .map((c) => `${c.name} ${c.perJob}`)
      .join(', ');
  return [
    `${b.jobs} image jobs in ${b.seconds} s: ${b.sentPerJob} commands a job sent by clients (a script counts once) and ${b.inScriptsPerJob} run inside scripts.`,
    '',
    '| Call (by connection) | Connection | Calls a job | Commands inside a job |',
    '|---|---|---|---|',
    ...b.calls.slice(0, 30).map((c) => `| ${c.name} | ${c.who} | ${c.perJob} | ${c.insidePerJob || ''} |`),
    '',
    `By command, inside scripts too (per job): ${top(b.byCommand, 20)}.`,
    '',
    `By key family (per job): ${top(b.byFamily, 20)}.`,
  ];
}

/**
 * The breakdown's run: a gateway and a worker on a private redis-server (MONITOR on a shared Redis would see
 * other clients, and slows every command), a warm-up, then `jobs` image commands at 25/s under MONITOR.
 */
export async function runRedisBreakdown(options: { work: string; jobs: number }): Promise<RedisBreakdown> {
  log(`\nRedis commands of one image job: MONITOR over ${options.jobs} jobs on a private redis-server`);
  const redis = await new PrivateRedis().start();
  const admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  try {
    return await withStack(redis.url, options.work, { latencyMs: 0, concurrency: 32 }, async (stack) => {
      const warm = await openLoop(25, 25, (i) => slash(stack, `BW${i}`));
      await stack.deliveries.waitFor(
        warm.sent.map((s) => s.channel),
        60_000,
      );
      const monitor = await startMonitor(admin);
      const started = performance.now();
      const { sent } = await openLoop(25, options.jobs, (i) => slash(stack, `BM${i}`));
      const finished = await stack.deliveries.waitFor(
        sent.map((s) => s.channel),
        60_000,
      );
      // The last job's completion (BullMQ's moveToFinished) comes just after its Done is posted.
      await sleep(500);
      const seen = await monitor.stop();
      const names = await clientNames(admin);
      const result = breakdown(seen, {
        prefix: stack.prefix,
        jobs: finished,
        seconds: (performance.now() - started) / 1000,
        names,
      });
      log(
        `   ${finished}/${options.jobs} finished; ${result.sentPerJob} commands a job sent, ${result.inScriptsPerJob} inside scripts`,
      );
      return result;
    });
  } finally {
    admin.disconnect();
    await redis.stop();
  }
}
