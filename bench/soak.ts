/**
 * The soak: `/flux` and `/ask` from several people in several channels at 20 commands/s for 10 minutes, through
 * the real gateway (signed Slack slash commands), with faults all along: the fake Together answering 429, 500 or
 * slowly, the fake Slack answering 429, one of two workers SIGKILLed every minute and restarted, and Redis (a
 * private redis-server with AOF, never the machine's) restarted once. Then it checks that nothing was lost or
 * shown twice, that the ledger charged what Together served, that the processes' memory stayed flat and that
 * Redis gives its memory back once the run's keys expire.
 */
import { Redis } from 'ioredis';
import { Pool } from 'undici';
import { Ledger } from '../src/queue/ledger.js';
import { RedisKeys } from '../src/queue/redis-keys.js';
import { FakeSlack } from '../test/contract/fakes/fake-slack.js';
import { FakeTogether } from '../test/contract/fakes/fake-together.js';
import { PrivateRedis } from '../test/helpers/private-redis.js';
import { log, openLoop, sendSlash, sleep } from './load.js';
import { type LorabotProcess, rssMb, startLorabot, stopLorabot } from './processes.js';
import { audit, ledgerAgainstServed, type SentCommand, SOAK_PRICES, tagOf } from './soak-audit.js';
import {
  type Census,
  census,
  expireRun,
  growth,
  KEPT_BY_DESIGN,
  settledMemory,
  usedMemory,
} from './soak-redis.js';
import { stackEnv } from './stack.js';
import { round, slope } from './stats.js';

export const SOAK_RATE = 20;
export const SOAK_TARGETS = { rssSlopeMbPerMinute: 1, redisLeftMb: 1 };
const PEOPLE = Array.from({ length: 12 }, (_, i) => `U0SOAK${String(i).padStart(2, '0')}`);
const CHANNELS = Array.from({ length: 6 }, (_, i) => `C0SOAK${i}`);
const ASK_SHARE = 0.3;
/** Each command draws its faults: the next Together call of its kind, and the next Slack call of one method. */
export const FAULT_RATES = { together429: 0.03, together500: 0.01, togetherSlow: 0.02, slack429: 0.03 };
const SLOW_MS = { min: 3000, max: 8000 };
const KILL_EVERY_SECONDS = 60;
const FIRST_KILL_SECONDS = 30;
const DRAIN_TIMEOUT_MS = 240_000;
const MB = 2 ** 20;

interface SoakStack {
  redis: PrivateRedis;
  admin: Redis;
  together: FakeTogether;
  slack: FakeSlack;
  gateway: LorabotProcess;
  /** Never killed: its memory is measured over the whole run. */
  steady: LorabotProcess;
  /** SIGKILLed every minute and started again. */
  victim: LorabotProcess;
  env: Record<string, string>;
  pool: Pool;
  prefix: string;
}

interface Sample {
  seconds: number;
  gatewayMb: number;
  workerMb: number;
  victimMb: number;
  redisMb: number;
}

export type SoakResult = Awaited<ReturnType<typeof runSoak>>;

/** Runs the soak for `minutes` of load, then drains, audits and measures; everything it started is stopped. */
export async function runSoak(options: { minutes: number; work: string }) {
  const sendSeconds = Math.round(options.minutes * 60);
  const total = SOAK_RATE * sendSeconds;
  const warmUpSeconds = Math.min(60, Math.round(sendSeconds * 0.2));
  log(
    `\n6. Soak: ${SOAK_RATE} commands/s for ${options.minutes} min (${total} commands, ${round(ASK_SHARE * 100)} % /ask) from ${PEOPLE.length} people in ${CHANNELS.length} channels; faults per command: Together 429 ${FAULT_RATES.together429 * 100} %, 500 ${FAULT_RATES.together500 * 100} %, slow ${FAULT_RATES.togetherSlow * 100} %, Slack 429 ${FAULT_RATES.slack429 * 100} %; a worker SIGKILLed every minute, Redis restarted once`,
  );
  const began = Date.now();
  const stack = await startStack(options.work);
  try {
    const before = { census: await census(stack.admin, stack.prefix), memory: await usedMemory(stack.admin) };
    const random = mulberry32(14);
    const commands: SentCommand[] = [];
    const injected = { together429: 0, together500: 0, togetherSlow: 0, slack429: 0 };
    const samples: Sample[] = [];
    const loadStarted = Date.now();
    const sampler = startSampler(stack, samples, loadStarted, sendSeconds);
    const chaos = runChaos(stack, sendSeconds, options.minutes);
    const { maxLagMs } = await openLoop(SOAK_RATE, total, async (i) => {
      const command = nextCommand(stack, i, random);
      injectFaults(stack, command.kind, random, injected);
      commands.push(command);
      command.ack = await sendSlash(stack.pool, stack.slack, {
        command: command.kind === 'flux' ? '/flux' : '/ask',
        text:
          command.kind === 'flux'
            ? `${tagOf(i)} a lighthouse at dusk --size 256x256 --steps 4`
            : `${tagOf(i)} what keeps a lighthouse lit?`,
        channel: command.channel,
        user: command.user,
        responseUrl: `${stack.slack.baseUrl}/commands/${stack.slack.teamId}/${command.responseId}`,
      }).catch(() => ({ sentAt: Date.now(), ackMs: Number.NaN, status: 0, body: '' }));
    });
    const events = await chaos;
    const sendEnded = Date.now();
    log(`   sent ${commands.length}, acked in ${round((sendEnded - loadStarted) / 1000)} s; draining`);
    let result = audit(commands, stack.slack);
    while (result.outcomes.pending > 0 && Date.now() - sendEnded < DRAIN_TIMEOUT_MS) {
      await sleep(1000);
      result = audit(commands, stack.slack);
    }
    const drainSeconds = round((Date.now() - sendEnded) / 1000);
    clearInterval(sampler);
    const entries = await ledgerEntries(stack, began);
    const ledger = ledgerAgainstServed(entries, stack.together);
    const rss = rssFigures(samples, warmUpSeconds, sendSeconds);
    const redis = await redisFigures(stack, before, samples);
    return {
      minutes: options.minutes,
      short: options.minutes < 10,
      commandsPerSecond: SOAK_RATE,
      commands: commands.length,
      flux: commands.filter((c) => c.kind === 'flux').length,
      ask: commands.filter((c) => c.kind === 'ask').length,
      people: PEOPLE.length,
      channels: CHANNELS.length,
      generatorMaxLagMs: round(maxLagMs),
      faultRates: FAULT_RATES,
      faults: { ...injected, ...events },
      outcomes: result.outcomes,
      refusedReasons: result.refusedReasons,
      unfinished: result.unfinished.slice(0, 10),
      duplicates: result.duplicates,
      ledger,
      rss,
      redis,
      drainSeconds,
      totalSeconds: round((Date.now() - began) / 1000),
      samples,
    };
  } finally {
    await closeStack(stack);
  }
}

/** A private Redis, the fakes, one gateway and two workers on a fresh prefix, jobs recovered within seconds. */
async function startStack(work: string): Promise<SoakStack> {
  const redis = await new PrivateRedis().start();
  const together = await new FakeTogether({ reuseImages: true }).start();
  const slack = await new FakeSlack().start();
  const { prefix, port, env } = await stackEnv(
    work,
    'soak',
    { together, slack, redisUrl: redis.url },
    [
      // A killed worker's jobs go back to the queue within lock + stall interval (15 s), not a minute.
      '  lock_ms: 10000',
      '  stalled_interval_ms: 5000',
      // One person sends many commands a second here: every one is queued, none refused by the cap.
      '  per_person_max_jobs: null',
      '  image: { concurrency: 16, rate_limit_per_minute: 100000 }',
      '  chat: { concurrency: 16, rate_limit_per_minute: 100000 }',
    ],
    [
      'image:',
      `  pricing: { usd_per_megapixel: ${SOAK_PRICES.usdPerMegapixel} }`,
      'chat:',
      '  models:',
      '    default:',
      `      id: ${together.models.find((m) => m.type === 'chat')!.id}`,
      '      max_tokens: 256',
      `      pricing: { input_usd_per_m_tokens: ${SOAK_PRICES.chatUsdPerMTokens}, output_usd_per_m_tokens: ${SOAK_PRICES.chatUsdPerMTokens} }`,
    ],
  );
  const [gateway, steady, victim] = await Promise.all([
    startLorabot('gateway', env),
    startLorabot('worker', env),
    startLorabot('worker', env),
  ]);
  return {
    redis,
    // Errors while Redis restarts are expected: the sampler records no figure for that moment.
    admin: new Redis(redis.url, { maxRetriesPerRequest: 1 }).on('error', () => undefined),
    together,
    slack,
    gateway,
    steady,
    victim,
    env,
    pool: new Pool(`http://127.0.0.1:${port}`, { connections: 64 }),
    prefix,
  };
}

async function closeStack(stack: SoakStack): Promise<void> {
  await Promise.all([stack.gateway, stack.steady, stack.victim].map(stopLorabot));
  await stack.pool.close();
  await Promise.all([stack.together.close(), stack.slack.close()]);
  stack.admin.disconnect();
  await stack.redis.destroy();
}

function nextCommand(stack: SoakStack, i: number, random: () => number): SentCommand {
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const responseId = new URL(stack.slack.newResponseUrl()).pathname.split('/').pop()!;
  return {
    i,
    kind: random() < ASK_SHARE ? 'ask' : 'flux',
    user: pick(PEOPLE),
    channel: pick(CHANNELS),
    responseId,
  };
}

/** Draws this command's faults; each one hits the next call of its kind, whichever job makes it. */
function injectFaults(
  stack: SoakStack,
  kind: 'flux' | 'ask',
  random: () => number,
  injected: Record<keyof typeof FAULT_RATES, number>,
): void {
  const path = kind === 'flux' ? '/images/generations' : '/chat/completions';
  const draw = random();
  const { together429, together500, togetherSlow } = FAULT_RATES;
  if (draw < together429) {
    injected.together429++;
    stack.together.inject(path, {
      kind: 'status',
      status: 429,
      headers: { 'retry-after': '1' },
      body: JSON.stringify({
        error: {
          message: 'Rate limit exceeded',
          type: 'rate_limit_exceeded',
          param: null,
          code: 'rate_limit_exceeded',
        },
      }),
    });
  } else if (draw < together429 + together500) {
    injected.together500++;
    stack.together.inject(path, { kind: 'status', status: 500 });
  } else if (draw < together429 + together500 + togetherSlow) {
    injected.togetherSlow++;
    stack.together.inject(path, { kind: 'delay', ms: SLOW_MS.min + random() * (SLOW_MS.max - SLOW_MS.min) });
  }
  if (random() < FAULT_RATES.slack429) {
    injected.slack429++;
    const method = random() < 0.5 ? 'chat.postMessage' : 'chat.update';
    stack.slack.inject(method, { kind: 'rate-limited', retryAfterSeconds: 1 });
  }
}

/**
 * The victim worker SIGKILLed every minute (from 30 s in) and started again at once; Redis stopped and started
 * once, a quarter minute past the middle minute, away from the kills. Runs while the commands are sent.
 */
async function runChaos(stack: SoakStack, sendSeconds: number, minutes: number) {
  const started = Date.now();
  const plan: Array<{ at: number; what: 'kill' | 'redis' }> = [];
  for (let at = FIRST_KILL_SECONDS; at < sendSeconds; at += KILL_EVERY_SECONDS)
    plan.push({ at, what: 'kill' });
  plan.push({ at: Math.floor(minutes / 2) * 60 + 15, what: 'redis' });
  plan.sort((a, b) => a.at - b.at);
  const events = { workerKills: 0, workerRestartMaxSeconds: 0, redisRestarts: 0, redisDownSeconds: 0 };
  for (const step of plan) {
    const wait = started + step.at * 1000 - Date.now();
    if (wait > 0) await sleep(wait);
    const t0 = Date.now();
    if (step.what === 'kill') {
      await kill(stack.victim);
      stack.victim = await startLorabot('worker', stack.env);
      events.workerKills++;
      events.workerRestartMaxSeconds = Math.max(
        events.workerRestartMaxSeconds,
        round((Date.now() - t0) / 1000),
      );
      log(
        `   ${round((t0 - started) / 1000)} s: worker SIGKILLed, restarted in ${round((Date.now() - t0) / 1000)} s`,
      );
    } else {
      await stack.redis.stop();
      await stack.redis.start();
      events.redisRestarts++;
      events.redisDownSeconds = round((Date.now() - t0) / 1000, 2);
      log(`   ${round((t0 - started) / 1000)} s: Redis restarted, down ${events.redisDownSeconds} s`);
    }
  }
  return events;
}

function kill(p: LorabotProcess): Promise<void> {
  return new Promise((resolve) => {
    if (p.child.exitCode !== null || p.child.signalCode !== null) return resolve();
    p.child.once('exit', () => resolve());
    p.child.kill('SIGKILL');
  });
}

/** Every few seconds: the processes' resident memory and Redis's used memory. */
function startSampler(stack: SoakStack, samples: Sample[], began: number, sendSeconds: number) {
  const take = async () => {
    const redisMb = await usedMemory(stack.admin).then(
      (memory) => memory.used / MB,
      () => Number.NaN,
    );
    samples.push({
      seconds: round((Date.now() - began) / 1000),
      gatewayMb: round(rssMb(stack.gateway.child.pid) ?? Number.NaN),
      workerMb: round(rssMb(stack.steady.child.pid) ?? Number.NaN),
      victimMb: round(rssMb(stack.victim.child.pid) ?? Number.NaN),
      redisMb: round(redisMb, 2),
    });
  };
  void take();
  return setInterval(() => void take(), Math.min(5000, (sendSeconds * 1000) / 30));
}

/** Least-squares slope of RSS over the send phase after the warm-up, in MB per minute. */
function rssFigures(samples: readonly Sample[], warmUpSeconds: number, sendSeconds: number) {
  const window = samples.filter((s) => s.seconds >= warmUpSeconds && s.seconds <= sendSeconds);
  const trend = (pick: (s: Sample) => number) =>
    round(
      slope(window.map((s) => ({ x: s.seconds / 60, y: pick(s) })).filter((p) => Number.isFinite(p.y))),
      2,
    );
  const first = window[0];
  const last = window.at(-1);
  return {
    warmUpSeconds,
    samples: window.length,
    gatewaySlopeMbPerMinute: trend((s) => s.gatewayMb),
    workerSlopeMbPerMinute: trend((s) => s.workerMb),
    gatewayMb: { first: first?.gatewayMb ?? null, last: last?.gatewayMb ?? null },
    workerMb: { first: first?.workerMb ?? null, last: last?.workerMb ?? null },
  };
}

async function ledgerEntries(stack: SoakStack, began: number) {
  const ledger = new Ledger(stack.admin, new RedisKeys(stack.prefix));
  const months = new Set([new Date(began).toISOString().slice(0, 7), new Date().toISOString().slice(0, 7)]);
  return (await Promise.all([...months].map((m) => ledger.entries(m)))).flat();
}

/**
 * Redis's memory before the load and after the run's keys have done what their expiry will do. The target is on
 * the data (`used_memory_dataset`): the rest is clients, scripts and buffers, which a restart resets.
 */
async function redisFigures(
  stack: SoakStack,
  before: { census: Census; memory: { used: number; dataset: number } },
  samples: readonly Sample[],
) {
  const expired = await expireRun(stack.admin, stack.prefix);
  const after = await census(stack.admin, stack.prefix);
  const memory = await settledMemory(stack.admin);
  const grown = growth(before.census, after);
  const byDesign = Object.entries(grown).filter(([kind]) => KEPT_BY_DESIGN.some((r) => r.test(kind)));
  const keptByDesignMb = byDesign.reduce((sum, [, g]) => sum + g.bytes, 0) / MB;
  return {
    usedBeforeMb: round(before.memory.used / MB, 2),
    peakMb: round(Math.max(...samples.map((x) => x.redisMb).filter(Number.isFinite)), 2),
    usedAfterMb: round(memory.used / MB, 2),
    datasetBeforeMb: round(before.memory.dataset / MB, 2),
    datasetAfterMb: round(memory.dataset / MB, 2),
    ...expired,
    grown,
    keptByDesignMb: round(keptByDesignMb, 2),
    /** Data left that is neither the ledger nor bounded by design. */
    leftMb: round((memory.dataset - before.memory.dataset) / MB - keptByDesignMb, 2),
    otherKindsLeft: Object.keys(grown).filter((kind) => !KEPT_BY_DESIGN.some((r) => r.test(kind))),
  };
}

/** A small seeded generator, so every run draws the same commands and faults in the same order. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
