/**
 * `npm run bench`: how much one gateway and one worker carry on this machine. Runs bare BullMQ as a baseline, then
 * the whole pipeline (signed Slack slash commands → `lorabot gateway` → Redis → `lorabot worker` → fake Together
 * → fake Slack) at a steady 100 commands/s, at full speed (the worker under `--cpu-prof`), with 2 s of Together
 * latency and 200 jobs in flight, the rate limiter against a fake that refuses past 60 images a minute, a job's
 * Redis commands under MONITOR (bench/redis-breakdown.ts), 1, 2 and 4 workers on one Redis and on a Redis Cluster
 * (bench/scale.ts), and the soak (bench/soak.ts: 10 minutes at 20 commands/s with faults). Prints each figure
 * beside its target and writes bench/results.json, bench/results.md and the charts bench/results.svg,
 * bench/scale.svg and bench/soak.svg.
 *
 * `--only soak`, `--only scale` or `--only cost` runs that phase alone (its section of results.json and results.md is
 * replaced); `--soak-minutes N` shortens the soak (a short run writes to the temp directory, as BENCH_QUICK=1 does).
 * `cost` is the MONITOR breakdown, the steady phase and the full-speed phase with the worker's CPU profile.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { resolveRedisUrl } from '../src/queue/redis-url.js';
import { BLUE, histogramsSpec, ORANGE, RED, renderSvg, scaleSpec } from './charts.js';
import { COST_HEADING, costMarkdown } from './cost.js';
import { profileClockUs, readProfile, summarizeProfile } from './cpu-profile.js';
import { log, openLoop, sleep, totalCommands } from './load.js';
import { peakRssMb, REPO_ROOT, rssMb } from './processes.js';
import { type RedisBreakdown, runRedisBreakdown } from './redis-breakdown.js';
import { type Row, rowsMarkdown } from './rows.js';
import { CLUSTER, ONE_REDIS, runScale, type ScaleResult, scaleMarkdown } from './scale.js';
import { runSoak, type SoakResult } from './soak.js';
import { SOAK_HEADING, soakChart, soakMarkdown } from './soak-report.js';
import { cpuMeter, type Sent, type Stack, sendAtFullSpeed, slash, withStack } from './stack.js';
import { round, type Summary, summarize } from './stats.js';

const QUICK = process.env.BENCH_QUICK === '1';
/** A quick run's figures mean nothing, so they do not replace the real results in bench/. */
const OUT_DIR = QUICK ? join(tmpdir(), 'lorabot-bench-quick') : join(REPO_ROOT, 'bench');
/** Phase lengths; BENCH_QUICK=1 shortens them to check the script itself, not to report figures. */
const STEADY_SECONDS = QUICK ? 5 : 60;
const STEADY_RATE = 100;
/** Fresh processes first take this long at the steady rate, not counted: JIT, connections, Lua scripts. */
const WARM_UP_SECONDS = QUICK ? 1 : 5;
const SATURATION_COMMANDS = QUICK ? 300 : 3000;
const INFLIGHT_SECONDS = QUICK ? 8 : 30;
const INFLIGHT_RATE = 110;
const LIMITER_SECONDS = QUICK ? 20 : 180;
const LIMIT_PER_MINUTE = 60;
const BASELINE_JOBS = QUICK ? 2000 : 20_000;
const BREAKDOWN_JOBS = QUICK ? 20 : 100;
const SCALE_JOBS = QUICK ? 300 : 2000;
const WORKER_CONCURRENCY = 32;
const ARGS = parseArgs({ options: { only: { type: 'string' }, 'soak-minutes': { type: 'string' } } }).values;
const SOAK_MINUTES = Number(ARGS['soak-minutes'] ?? (QUICK ? 1 : 10));

const TARGETS = {
  ackP99Ms: 50,
  overheadP50Ms: 25,
  overheadP99Ms: 100,
  baselineRatio: 0.4,
  inflightJobsPerSecond: 80,
  workerRssMb: 300,
  limiterTolerance: 0.05,
};

async function main(): Promise<void> {
  if (!(SOAK_MINUTES > 0)) throw new Error(`--soak-minutes must be a positive number of minutes`);
  if (ARGS.only === 'soak' || ARGS.only === 'scale' || ARGS.only === 'cost') return phaseAlone(ARGS.only);
  if (ARGS.only !== undefined)
    throw new Error(`--only takes one phase: soak, scale or cost (got ${ARGS.only})`);
  const began = Date.now();
  const work = mkdtempSync(join(tmpdir(), 'lorabot-bench-'));
  const redis = await resolveRedisUrl(process.env.REDIS_URL, work);
  log(
    `Machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; Redis ${redis.url} (${redis.source})${QUICK ? '; QUICK run: figures are not meaningful' : ''}`,
  );
  const admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  try {
    const baseline = await runBaseline(redis.url, admin);
    const steady = await withStack(
      redis.url,
      work,
      { latencyMs: 0, concurrency: WORKER_CONCURRENCY },
      (stack) => runSteady(stack, admin),
    );
    const { saturation, workerProfile } = await runProfiledSaturation(redis.url, work, admin);
    const inflight = await withStack(redis.url, work, { latencyMs: 2000, concurrency: 200 }, (stack) =>
      runInflight(stack),
    );
    const limiter = await withStack(
      redis.url,
      work,
      { latencyMs: 1000, concurrency: 8, ratePerMinute: LIMIT_PER_MINUTE, imagesPerMinute: LIMIT_PER_MINUTE },
      (stack) => runLimiter(stack),
    );
    const redisBreakdown = await runRedisBreakdown({ work, jobs: BREAKDOWN_JOBS });
    const scale = await runScale({
      redisUrl: redis.url,
      work,
      jobs: SCALE_JOBS,
      concurrency: WORKER_CONCURRENCY,
    });
    const soak = await runSoak({ minutes: SOAK_MINUTES, work });
    const results = {
      when: new Date().toISOString(),
      quick: QUICK,
      machine: {
        cores: cpus().length,
        cpu: cpus()[0]?.model ?? 'unknown',
        memoryGiB: round(totalmem() / 2 ** 30),
        node: process.version,
        redis: redis.source,
      },
      targets: TARGETS,
      baseline,
      steady: { ...steady, ackMs: summarize(steady.acks), overheadMs: summarize(steady.overheads) },
      saturation: {
        ...saturation,
        ratioToBaseline: round(saturation.jobsPerSecond / baseline.jobsPerSecond, 3),
      },
      inflight,
      limiter,
      redisBreakdown,
      workerProfile,
      scale,
      soak,
      totalSeconds: round((Date.now() - began) / 1000),
    };
    await report(results, steady);
  } finally {
    admin.disconnect();
    await redis.stop?.();
    rmSync(work, { recursive: true, force: true });
  }
}

/** Bare BullMQ on the same Redis: add → no-op processor → completed, with the worker's concurrency. */
async function runBaseline(redisUrl: string, admin: Redis) {
  log(`\n1. Baseline: bare BullMQ, ${BASELINE_JOBS} jobs, concurrency ${WORKER_CONCURRENCY}`);
  const prefix = `{lorabot-bench-${randomUUID().slice(0, 8)}}`;
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('baseline', { connection, prefix });
  let completed = 0;
  let resolveAll: () => void = () => undefined;
  const all = new Promise<void>((r) => {
    resolveAll = r;
  });
  const worker = new Worker(
    'baseline',
    async () => {
      completed++;
      if (completed === BASELINE_JOBS) resolveAll();
    },
    { connection, prefix, concurrency: WORKER_CONCURRENCY },
  );
  await worker.waitUntilReady();
  const commandsBefore = await totalCommands(admin);
  const started = performance.now();
  for (let i = 0; i < BASELINE_JOBS; i += 500) {
    await queue.addBulk(
      Array.from({ length: Math.min(500, BASELINE_JOBS - i) }, (_, k) => ({
        name: 'noop',
        data: { i: i + k },
        opts: { removeOnComplete: { age: 3600 }, removeOnFail: { age: 3600 } },
      })),
    );
  }
  await all;
  const seconds = (performance.now() - started) / 1000;
  const redisCommandsPerJob = round(((await totalCommands(admin)) - commandsBefore) / BASELINE_JOBS);
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  connection.disconnect();
  const jobsPerSecond = round(BASELINE_JOBS / seconds);
  log(`   ${jobsPerSecond} jobs/s (${round(seconds)} s), ${redisCommandsPerJob} Redis commands per job`);
  return { jobs: BASELINE_JOBS, seconds: round(seconds, 2), jobsPerSecond, redisCommandsPerJob };
}

/** 100 commands/s for 60 s with Together answering at once: ack latency and pipeline overhead. */
async function runSteady(stack: Stack, admin: Redis) {
  const total = STEADY_RATE * STEADY_SECONDS;
  log(`\n2. Pipeline, L = 0: ${STEADY_RATE} commands/s for ${STEADY_SECONDS} s (${total} commands)`);
  const warmUp = await warmUpStack(stack);
  const callsBefore = { slack: stack.slack.calls.length, together: stack.together.calls.length };
  const cpu = cpuMeter(stack);
  const commandsBefore = await totalCommands(admin);
  const started = Date.now();
  const { sent, maxLagMs } = await openLoop(STEADY_RATE, total, (i) => slash(stack, `CS${i}`));
  const sendSeconds = (Date.now() - started) / 1000;
  const finished = await stack.deliveries.waitFor(
    sent.map((s) => s.channel),
    120_000,
  );
  const redisCommandsPerJob = round(((await totalCommands(admin)) - commandsBefore) / total);
  const usage = cpu.stop();
  const { acks, overheads, lastDone, failed, stages } = outcome(stack, sent, 0);
  const sustained = round(finished / ((lastDone - started) / 1000));
  const slackCalls = stack.slack.calls.length - callsBefore.slack;
  log(
    `   sent in ${round(sendSeconds)} s (generator lag ≤ ${round(maxLagMs)} ms); ${finished}/${total} finished, ${failed} failed; ${sustained} commands/s sustained`,
  );
  return {
    commands: total,
    commandsPerSecondOffered: STEADY_RATE,
    seconds: STEADY_SECONDS,
    finished,
    failed,
    commandsPerSecondSustained: sustained,
    generatorMaxLagMs: round(maxLagMs),
    non2xxAcks: sent.filter((s) => s.status >= 300).length,
    slackCallsPerJob: round(slackCalls / total),
    togetherCallsPerJob: round((stack.together.calls.length - callsBefore.together) / total),
    redisCommandsPerJob,
    cpuPercentOfOneCore: usage,
    /** Where the overhead went: received → status posted, → Running, → Done (less L). */
    stages,
    warmUp,
    acks,
    overheads,
  };
}

/** As many commands as the gateway takes (64 senders, each sending on its ack): the pipeline's jobs/s. */
async function runSaturation(stack: Stack, admin: Redis) {
  log(`\n3. Pipeline, L = 0, full speed: ${SATURATION_COMMANDS} commands from 64 concurrent senders`);
  await warmUpStack(stack);
  const cpu = cpuMeter(stack);
  const commandsBefore = await totalCommands(admin);
  const fromUs = profileClockUs();
  const started = Date.now();
  const sent = await sendAtFullSpeed(stack, SATURATION_COMMANDS, 'CF');
  const finished = await stack.deliveries.waitFor(
    sent.map((s) => s.channel),
    180_000,
  );
  const redisCommandsPerJob = round(((await totalCommands(admin)) - commandsBefore) / SATURATION_COMMANDS);
  const usage = cpu.stop();
  const window = { fromUs, toUs: profileClockUs() };
  const { lastDone, failed, acks } = outcome(stack, sent, 0);
  const seconds = (lastDone - started) / 1000;
  const jobsPerSecond = round(finished / seconds);
  log(
    `   ${finished}/${SATURATION_COMMANDS} finished, ${failed} failed, in ${round(seconds)} s: ${jobsPerSecond} jobs/s`,
  );
  return {
    commands: SATURATION_COMMANDS,
    finished,
    failed,
    seconds: round(seconds, 2),
    jobsPerSecond,
    ackMs: summarize(acks),
    redisCommandsPerJob,
    cpuPercentOfOneCore: usage,
    /** When it ran, on the clock of the worker's CPU profile. */
    window,
  };
}

/** The full-speed phase with the worker under `--cpu-prof`, and its profile over the measured window. */
async function runProfiledSaturation(redisUrl: string, work: string, admin: Redis) {
  const profileDir = join(work, 'worker-profile');
  const saturation = await withStack(
    redisUrl,
    work,
    { latencyMs: 0, concurrency: WORKER_CONCURRENCY, workerProfileDir: profileDir },
    (stack) => runSaturation(stack, admin),
  );
  // The worker wrote its profile when it stopped, at the end of withStack.
  return { saturation, workerProfile: summarizeProfile(readProfile(profileDir), saturation.window) };
}

/** Together takes 2 s per image and the worker may run 200 at once: jobs/s and the worker's peak memory. */
async function runInflight(stack: Stack) {
  const total = INFLIGHT_RATE * INFLIGHT_SECONDS;
  log(
    `\n4. Pipeline, L = 2 s, worker concurrency 200: ${INFLIGHT_RATE} commands/s for ${INFLIGHT_SECONDS} s (${total} commands)`,
  );
  const cpu = cpuMeter(stack);
  const workerStartRssMb = rssMb(stack.worker.child.pid);
  const started = Date.now();
  const { sent } = await openLoop(INFLIGHT_RATE, total, (i) => slash(stack, `CL${i}`));
  const sendEnded = Date.now();
  const finished = await stack.deliveries.waitFor(
    sent.map((s) => s.channel),
    120_000,
  );
  const usage = cpu.stop();
  const workerPeakRssMb = peakRssMb(stack.worker.child.pid);
  const gatewayPeakRssMb = peakRssMb(stack.gateway.child.pid);
  const { failed, doneTimes } = outcome(stack, sent, 2000);
  // Steady state: from 5 s in (the first jobs take 2 s and the pool fills) to the end of sending.
  const windowStart = started + 5000;
  const inWindow = doneTimes.filter((t) => t >= windowStart && t <= sendEnded).length;
  const jobsPerSecond = round(inWindow / ((sendEnded - windowStart) / 1000));
  log(
    `   ${finished}/${total} finished, ${failed} failed; ${jobsPerSecond} jobs/s in steady state; ${stack.together.peakInFlight} at Together at most; worker peak RSS ${round(workerPeakRssMb ?? Number.NaN)} MB`,
  );
  return {
    commands: total,
    finished,
    failed,
    jobsPerSecond,
    peakInFlightAtTogether: stack.together.peakInFlight,
    workerPeakRssMb: workerPeakRssMb === undefined ? null : round(workerPeakRssMb),
    workerStartRssMb: workerStartRssMb === undefined ? null : round(workerStartRssMb),
    gatewayPeakRssMb: gatewayPeakRssMb === undefined ? null : round(gatewayPeakRssMb),
    cpuPercentOfOneCore: usage,
  };
}

/** 2× the limit for 3 minutes against a fake that answers 429 past 60 images a minute. */
async function runLimiter(stack: Stack) {
  const perSecond = (2 * LIMIT_PER_MINUTE) / 60;
  const total = Math.round(perSecond * LIMITER_SECONDS);
  log(
    `\n5. Rate limiter: ${LIMIT_PER_MINUTE}/min configured, fake Together refuses past ${LIMIT_PER_MINUTE} images/min; ${perSecond} commands/s for ${LIMITER_SECONDS} s (${total} commands)`,
  );
  const started = Date.now();
  const before = stack.together.calls.length;
  await openLoop(perSecond, total, (i) => slash(stack, `CR${i}`));
  const remaining = started + LIMITER_SECONDS * 1000 - Date.now();
  if (remaining > 0) await sleep(remaining);
  const ended = Date.now();
  // Each image call the fake did not refuse made one image (n = 1).
  const imageCalls = stack.together.calls
    .slice(before)
    .filter((c) => c.path === '/images/generations').length;
  const accepted = imageCalls - stack.together.rateLimited;
  const minutes = (ended - started) / 60_000;
  const imagesPerMinute = round(accepted / minutes);
  log(
    `   ${accepted} images in ${round(minutes, 2)} min: ${imagesPerMinute}/min; ${stack.together.rateLimited} answered 429`,
  );
  return {
    limitPerMinute: LIMIT_PER_MINUTE,
    demandPerMinute: 2 * LIMIT_PER_MINUTE,
    seconds: LIMITER_SECONDS,
    images: accepted,
    imagesPerMinute,
    rateLimited: stack.together.rateLimited,
  };
}

/** The uncounted warm-up of fresh processes; what its commands saw, to show what a cold start costs. */
async function warmUpStack(stack: Stack) {
  const { sent } = await openLoop(STEADY_RATE, STEADY_RATE * WARM_UP_SECONDS, (i) => slash(stack, `CW${i}`));
  await stack.deliveries.waitFor(
    sent.map((s) => s.channel),
    60_000,
  );
  const { acks, overheads } = outcome(stack, sent, 0);
  const warmUp = { commands: sent.length, ackMs: summarize(acks), overheadMs: summarize(overheads) };
  log(
    `   warm-up, not counted: ${warmUp.commands} commands in ${WARM_UP_SECONDS} s; overhead p99 ${warmUp.overheadMs.p99} ms, max ${warmUp.overheadMs.max} ms`,
  );
  return warmUp;
}

/** Ack latencies, overheads (done − sent − latency), and when each finished. */
function outcome(stack: Stack, sent: Sent[], latencyMs: number) {
  stack.deliveries.scan();
  const acks = sent.map((s) => s.ackMs);
  const overheads: number[] = [];
  const doneTimes: number[] = [];
  const stages = { gateway: [] as number[], queue: [] as number[], worker: [] as number[] };
  let failed = 0;
  const { posted, running } = stack.deliveries;
  for (const s of sent) {
    const done = stack.deliveries.done.get(s.channel);
    if (done !== undefined) {
      overheads.push(done - s.sentAt - latencyMs);
      doneTimes.push(done);
      const post = posted.get(s.channel);
      const run = running.get(s.channel);
      if (post !== undefined && run !== undefined) {
        stages.gateway.push(post - s.sentAt);
        stages.queue.push(run - post);
        stages.worker.push(done - run - latencyMs);
      }
    }
    if (stack.deliveries.failed.has(s.channel)) failed++;
  }
  return {
    acks,
    overheads,
    doneTimes,
    failed,
    stages: {
      gatewayMs: summarize(stages.gateway),
      queueWaitMs: summarize(stages.queue),
      workerMs: summarize(stages.worker),
    },
    lastDone: Math.max(...doneTimes, Date.now() - 1),
  };
}

type Results = Record<string, unknown> & {
  quick: boolean;
  machine: { cores: number; cpu: string; memoryGiB: number; node: string; redis: string };
  baseline: Awaited<ReturnType<typeof runBaseline>>;
  steady: Awaited<ReturnType<typeof runSteady>> & { ackMs: Summary; overheadMs: Summary };
  saturation: Awaited<ReturnType<typeof runSaturation>> & { ratioToBaseline: number };
  inflight: Awaited<ReturnType<typeof runInflight>>;
  limiter: Awaited<ReturnType<typeof runLimiter>>;
  redisBreakdown: RedisBreakdown;
  workerProfile: ReturnType<typeof summarizeProfile>;
  scale: ScaleResult;
  soak: SoakResult;
  totalSeconds: number;
};

/** Each figure beside its target; a missed target says by how much and what the run measured about why. */
function rows(r: Results): Row[] {
  const { steady, saturation, inflight, limiter, baseline } = r;
  const cpu = (u: { gateway: number | null; worker: number | null; benchAndFakes: number }) =>
    `gateway ${u.gateway ?? '?'} %, worker ${u.worker ?? '?'} %, load generator and fakes ${u.benchAndFakes} % of one core, on ${r.machine.cores} cores shared with Redis`;
  const over = (value: number, target: number) =>
    `${round(value - target)} ms over (${round((value / target) * 100 - 100)} %)`;
  const ackMet = steady.ackMs.p99 <= TARGETS.ackP99Ms;
  const o50 = steady.overheadMs.p50 <= TARGETS.overheadP50Ms;
  const o99 = steady.overheadMs.p99 <= TARGETS.overheadP99Ms;
  const ratioMet = saturation.ratioToBaseline >= TARGETS.baselineRatio;
  const inflightMet = inflight.jobsPerSecond >= TARGETS.inflightJobsPerSecond;
  const rssMet = inflight.workerPeakRssMb !== null && inflight.workerPeakRssMb <= TARGETS.workerRssMb;
  const limiterOff = Math.abs(limiter.imagesPerMinute - LIMIT_PER_MINUTE) / LIMIT_PER_MINUTE;
  const perJob = `a job costs ${saturation.redisCommandsPerJob} Redis commands and ${steady.slackCallsPerJob + steady.togetherCallsPerJob} HTTP calls (${steady.slackCallsPerJob} to Slack, ${steady.togetherCallsPerJob} to Together) against bare BullMQ's ${baseline.redisCommandsPerJob} Redis commands`;
  return [
    { figure: 'Bare BullMQ', value: `${baseline.jobsPerSecond} jobs/s`, target: '(baseline)', met: null },
    {
      figure: `Commands/s sustained at ${STEADY_RATE}/s offered`,
      value: `${steady.commandsPerSecondSustained}`,
      target: `${STEADY_RATE}`,
      met: steady.commandsPerSecondSustained >= STEADY_RATE * 0.98,
    },
    {
      figure: 'Ack latency p50 / p95 / p99',
      value: `${steady.ackMs.p50} / ${steady.ackMs.p95} / ${steady.ackMs.p99} ms`,
      target: `p99 ≤ ${TARGETS.ackP99Ms} ms`,
      met: ackMet,
      ...(ackMet
        ? {}
        : { why: `${over(steady.ackMs.p99, TARGETS.ackP99Ms)}; CPU: ${cpu(steady.cpuPercentOfOneCore)}` }),
    },
    {
      figure: 'Pipeline overhead p50',
      value: `${steady.overheadMs.p50} ms`,
      target: `≤ ${TARGETS.overheadP50Ms} ms`,
      met: o50,
      ...(o50
        ? {}
        : {
            why: `${over(steady.overheadMs.p50, TARGETS.overheadP50Ms)}; ${stagesText(steady.stages, 'p50')}; ${perJob}`,
          }),
    },
    {
      figure: 'Pipeline overhead p99',
      value: `${steady.overheadMs.p99} ms`,
      target: `≤ ${TARGETS.overheadP99Ms} ms`,
      met: o99,
      ...(o99
        ? {}
        : {
            why: `${over(steady.overheadMs.p99, TARGETS.overheadP99Ms)}; ${stagesText(steady.stages, 'p99')}; CPU: ${cpu(steady.cpuPercentOfOneCore)}`,
          }),
    },
    {
      figure: 'Pipeline jobs/s at full speed, and its ratio to bare BullMQ',
      value: `${saturation.jobsPerSecond} jobs/s = ${round(saturation.ratioToBaseline * 100)} %`,
      target: `≥ ${TARGETS.baselineRatio * 100} %`,
      met: ratioMet,
      ...(ratioMet
        ? {}
        : {
            why: `${round((TARGETS.baselineRatio - saturation.ratioToBaseline) * 100)} points short; ${perJob}; CPU: ${cpu(saturation.cpuPercentOfOneCore)}`,
          }),
    },
    {
      figure: 'Jobs/s at L = 2 s (worker concurrency 200)',
      value: `${inflight.jobsPerSecond} jobs/s (${inflight.peakInFlightAtTogether} in flight at Together at most)`,
      target: `≥ ${TARGETS.inflightJobsPerSecond}`,
      met: inflightMet,
      ...(inflightMet ? {} : { why: `CPU: ${cpu(inflight.cpuPercentOfOneCore)}` }),
    },
    {
      figure: 'Worker peak RSS at L = 2 s',
      value: `${inflight.workerPeakRssMb ?? 'not measured (no /proc)'} MB`,
      target: `≤ ${TARGETS.workerRssMb} MB`,
      met: inflight.workerPeakRssMb === null ? null : rssMet,
      ...(rssMet || inflight.workerPeakRssMb === null
        ? {}
        : {
            why: `${round(inflight.workerPeakRssMb - TARGETS.workerRssMb)} MB over (${round((inflight.workerPeakRssMb / TARGETS.workerRssMb) * 100 - 100)} %); the worker held ${inflight.workerStartRssMb ?? '?'} MB before the load and the 200 jobs in flight added the rest`,
          }),
    },
    {
      figure: `Rate limiter at 2× demand for ${round(LIMITER_SECONDS / 60, 1)} min`,
      value: `${limiter.imagesPerMinute} images/min, ${limiter.rateLimited} × 429`,
      target: `${LIMIT_PER_MINUTE} ± ${TARGETS.limiterTolerance * 100} %, zero 429`,
      met: limiterOff <= TARGETS.limiterTolerance && limiter.rateLimited === 0,
      ...(limiterOff <= TARGETS.limiterTolerance && limiter.rateLimited === 0
        ? {}
        : { why: `${round(limiterOff * 100)} % off the limit; ${limiter.rateLimited} requests refused` }),
    },
  ];
}

function stagesText(
  stages: { gatewayMs: Summary; queueWaitMs: Summary; workerMs: Summary },
  at: 'p50' | 'p99',
): string {
  return `at ${at} the gateway took ${stages.gatewayMs[at]} ms (received to status posted), the job waited ${stages.queueWaitMs[at]} ms in the queue (to Running) and the worker took ${stages.workerMs[at]} ms (Running to Done)`;
}

async function report(results: Results, steady: { acks: number[]; overheads: number[] }): Promise<void> {
  const table = rows(results);
  const lines = [
    '# lorabot benchmark',
    '',
    `${results.when}: ${results.machine.cores} cores (${results.machine.cpu}), ${results.machine.memoryGiB} GiB, Node ${results.machine.node}, Redis ${results.machine.redis}; ${results.totalSeconds} s in all.${results.quick ? ' **Quick run: the figures are not meaningful.**' : ''}`,
    '',
    'One `lorabot gateway` and one `lorabot worker` process (from `dist/`), the fake Slack and Together and the load',
    'generator in the benchmark process, and Redis, all on this machine. `/flux … --size 256x256` commands, each',
    'in its own channel; a command is delivered when its status message says Done. Each pipeline phase starts',
    `fresh processes and sends ${WARM_UP_SECONDS} s at ${STEADY_RATE} commands/s before measuring, not counted (JIT, connections and`,
    `Lua scripts warming up); in the steady phase's warm-up the overhead p99 was ${results.steady.warmUp.overheadMs.p99} ms and the ack p99 ${results.steady.warmUp.ackMs.p99} ms.`,
    'The full-speed phase runs the worker under `node --cpu-prof` (its profile is below).',
    '',
    ...rowsMarkdown(table),
    '',
    '![ack latency and pipeline overhead](results.svg)',
    '',
    costMarkdown(results),
    scaleSection(results.scale, results.machine.cores),
    soakMarkdown(results.soak),
  ];
  const markdown = lines.join('\n');
  mkdirSync(OUT_DIR, { recursive: true });
  const { acks: _a, overheads: _o, ...steadyFigures } = results.steady;
  writeFileSync(
    join(OUT_DIR, 'results.json'),
    `${JSON.stringify({ ...results, steady: steadyFigures }, null, 2)}\n`,
  );
  writeFileSync(join(OUT_DIR, 'results.md'), markdown);
  const ms = (label: string, at: number, color: string) => ({ label: `${label} ${at} ms`, at, color });
  await writeChart(
    'results.svg',
    histogramsSpec([
      {
        title: `Ack latency at ${STEADY_RATE} commands/s (${steady.acks.length} commands)`,
        values: steady.acks,
        marks: [
          ms('p50', results.steady.ackMs.p50, BLUE),
          ms('p99', results.steady.ackMs.p99, ORANGE),
          ms('target p99', TARGETS.ackP99Ms, RED),
        ],
      },
      {
        title: 'Pipeline overhead: delivered − received − L (L = 0)',
        values: steady.overheads,
        marks: [
          ms('p50', results.steady.overheadMs.p50, BLUE),
          ms('p99', results.steady.overheadMs.p99, ORANGE),
          ms('target p99', TARGETS.overheadP99Ms, RED),
        ],
      },
    ]),
  );
  await writeChart('scale.svg', scaleChart(results.scale));
  await writeChart('soak.svg', soakChart(results.soak));
  log(`\n${markdown}`);
  log(`Wrote results.json, results.md, results.svg, scale.svg and soak.svg in ${OUT_DIR}.`);
}

const SCALE_HEADING = '## Scale';

function scaleSection(scale: ScaleResult, cores: number): string {
  return [
    SCALE_HEADING,
    '',
    ...scaleMarkdown(scale, cores),
    '',
    '![jobs/s against workers](scale.svg)',
    '',
  ].join('\n');
}

function scaleChart(scale: ScaleResult) {
  return scaleSpec(
    `Jobs/s against worker processes (L = 0, ${scale.jobs} jobs a point)`,
    scale.points.map((p) => ({ redis: p.redis, workers: p.workers, jobsPerSecond: p.jobsPerSecond })),
    { [ONE_REDIS]: BLUE, [CLUSTER]: ORANGE },
  );
}

/** Writes a chart's SVG, and removes the PNG the bench drew before it drew SVG. */
async function writeChart(name: string, spec: Parameters<typeof renderSvg>[0], dir = OUT_DIR): Promise<void> {
  writeFileSync(join(dir, name), await renderSvg(spec));
  rmSync(join(dir, name.replace(/\.svg$/, '.png')), { force: true });
}

/** `markdown` with the section under `heading` (to the next `## ` or the end) replaced by `section`. */
function replaceSection(markdown: string, heading: string, section: string): string {
  const start = markdown.indexOf(`${heading}\n`);
  if (start < 0) return `${markdown.trimEnd()}\n\n${section}`;
  const next = markdown.indexOf('\n## ', start + heading.length);
  return markdown.slice(0, start) + section + (next < 0 ? '' : markdown.slice(next + 1));
}

/**
 * `--only soak`, `--only scale` or `--only cost`: that phase on its own; its section of results.json and results.md
 * is replaced and the rest kept. A quick run, or a soak under 10 minutes, writes to the temp directory, so it never
 * stands in for the real figures.
 */
async function phaseAlone(phase: 'soak' | 'scale' | 'cost'): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'lorabot-bench-'));
  // The soak starts its own Redis; the other phases run on the machine's (and scale on a cluster it starts).
  const redis = phase === 'soak' ? undefined : await resolveRedisUrl(process.env.REDIS_URL, work);
  try {
    const ran = await runAlone(phase, work, redis?.url);
    const out = QUICK || ran.short ? join(tmpdir(), `lorabot-bench-${phase}-short`) : OUT_DIR;
    mkdirSync(out, { recursive: true });
    const jsonPath = join(out, 'results.json');
    const json = existsSync(jsonPath) ? (JSON.parse(readFileSync(jsonPath, 'utf8')) as object) : {};
    writeFileSync(jsonPath, `${JSON.stringify({ ...json, ...ran.json }, null, 2)}\n`);
    const mdPath = join(out, 'results.md');
    const md = existsSync(mdPath) ? readFileSync(mdPath, 'utf8') : '# lorabot benchmark\n\n';
    writeFileSync(mdPath, replaceSection(md, ran.heading, ran.section));
    await ran.chart?.(out);
    log(`\n${ran.section}`);
    log(`Wrote the ${phase} phase into results.json and results.md in ${out}.`);
  } finally {
    await redis?.stop?.();
    rmSync(work, { recursive: true, force: true });
  }
}

/** One phase run alone: what it adds to results.json, its Markdown section, and its chart if it has one. */
async function runAlone(phase: 'soak' | 'scale' | 'cost', work: string, redisUrl: string | undefined) {
  if (phase === 'soak') {
    const soak = await runSoak({ minutes: SOAK_MINUTES, work });
    const chart = (out: string) => writeChart('soak.svg', soakChart(soak), out);
    return { short: soak.short, json: { soak }, heading: SOAK_HEADING, section: soakMarkdown(soak), chart };
  }
  if (phase === 'scale') {
    const scale = await runScale({
      redisUrl: redisUrl!,
      work,
      jobs: SCALE_JOBS,
      concurrency: WORKER_CONCURRENCY,
    });
    const chart = (out: string) => writeChart('scale.svg', scaleChart(scale), out);
    const section = scaleSection(scale, cpus().length);
    return { short: false, json: { scale }, heading: SCALE_HEADING, section, chart };
  }
  const admin = new Redis(redisUrl!, { maxRetriesPerRequest: 1 });
  try {
    const redisBreakdown = await runRedisBreakdown({ work, jobs: BREAKDOWN_JOBS });
    const steady = await withStack(
      redisUrl!,
      work,
      { latencyMs: 0, concurrency: WORKER_CONCURRENCY },
      (stack) => runSteady(stack, admin),
    );
    const { saturation, workerProfile } = await runProfiledSaturation(redisUrl!, work, admin);
    const { acks: _a, overheads: _o, ...steadyFigures } = steady;
    const cost = {
      redisBreakdown,
      workerProfile,
      steady: { ...steadyFigures, overheadMs: summarize(steady.overheads) },
      saturation,
    };
    // The breakdown and the profile where a whole run keeps them; this run's steady and full-speed figures apart.
    const json = { redisBreakdown, workerProfile, costRun: { steady: cost.steady, saturation } };
    return { short: false, json, heading: COST_HEADING, section: costMarkdown(cost) };
  } finally {
    admin.disconnect();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
