import type { ChildProcess } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.js';
import { startWorkerProcess, stopWorkerProcess, workerOutput } from '../helpers/worker-process.js';
import { WorkerRig } from '../helpers/worker-rig.js';

/**
 * `lorabot worker` processes stopped with SIGTERM: running jobs get `queue.shutdown_grace_ms` (the default, 8 s),
 * then go back to the queue for the next worker, and the process exits 0. Locks are left at their default 30 s,
 * so a job that the next worker finishes within seconds was handed back, not recovered as stalled.
 */
const world = new WorkerRig();
let graceMs: number;
const workers: ChildProcess[] = [];

beforeAll(async () => {
  await world.start([], { locks: 'default', worker: false });
  graceMs = world.config.queue.shutdownGraceMs;
}, 60_000);

afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => stopWorkerProcess(worker)));
});

afterAll(async () => {
  await world.close();
});

async function startWorker(): Promise<ChildProcess> {
  const worker = await startWorkerProcess(world.env);
  workers.push(worker);
  return worker;
}

/** Queues `/flux <prompt>` and waits until its Together call has arrived. */
async function runningJob(channel: string, prompt: string) {
  const before = world.together.callsTo('/images/generations').length;
  const job = await world.enqueue(`${prompt} --size 256x256`, { channel, userId: 'U0STOP' });
  await waitFor(
    'the Together call',
    () => world.together.callsTo('/images/generations').length > before,
    20_000,
  );
  return job;
}

/** Sends SIGTERM and resolves with the exit code and how long the process took to exit. */
async function terminate(worker: ChildProcess): Promise<{ code: number | null; ms: number }> {
  const started = performance.now();
  const code = await stopWorkerProcess(worker, 'SIGTERM');
  return { code, ms: performance.now() - started };
}

function isDone(parentTs: string): boolean {
  return world.slack.messages.find((m) => m.ts === parentTs)?.text.includes('Done') === true;
}

/** One image, one notice, no failure and one charge for the job, after `togetherCalls` calls to Together. */
async function expectOneResult(
  job: { jobId: string; parentTs: string },
  channel: string,
  prompt: string,
  togetherCalls: number,
) {
  const counted = await counts(job, channel, prompt);
  expect(counted).toEqual({ togetherCalls, files: 1, notices: 1, failures: 0, charges: 1 });
}

/** The job's result, counted: Together calls for its prompt, files and failures in its thread, ledger entries. */
async function counts(job: { jobId: string; parentTs: string }, channel: string, prompt: string) {
  const { together, slack, ledger } = world;
  const month = new Date().toISOString().slice(0, 7);
  const thread = slack.thread(channel, job.parentTs);
  return {
    togetherCalls: together
      .callsTo('/images/generations')
      .filter((c) => JSON.stringify(c.body).includes(prompt)).length,
    files: slack.files.filter((f) => f.thread_ts === job.parentTs).length,
    notices: thread.filter((m) => m.text.startsWith('<@U0STOP> Your image is ready')).length,
    failures: thread.filter((m) => /fail/i.test(m.text)).length,
    charges: (await ledger.entries(month)).filter((e) => e.jobId === job.jobId).length,
  };
}

/**
 * SIGTERM to the worker running `job` while a second worker waits; resolves once the job is done, with how long
 * the first took to exit and the job to finish, from the signal.
 */
async function handOver(first: ChildProcess, job: { parentTs: string }) {
  await startWorker();
  const signalled = performance.now();
  const stopped = await terminate(first);
  await waitFor('the next worker to finish the job', () => isDone(job.parentTs), 20_000);
  return { ...stopped, doneMs: performance.now() - signalled };
}

describe('SIGTERM with a grace period (queue.shutdown_grace_ms)', () => {
  it('an idle worker exits 0 at once', async () => {
    const stopped = await terminate(await startWorker());
    console.info(`idle worker: exit ${stopped.code} in ${Math.round(stopped.ms)} ms`);
    expect(stopped.code).toBe(0);
    expect(stopped.ms).toBeLessThan(graceMs / 2);
  }, 60_000);

  it('a job that ends within the grace period is finished by the stopping worker, which then exits 0', async () => {
    const worker = await startWorker();
    // Together takes 1 s: the job is still running when SIGTERM arrives.
    world.together.inject('/images/generations', { kind: 'delay', ms: 1000 });
    const job = await runningJob('C0STOP1', 'shutdown finishes in grace');
    const stopped = await terminate(worker);
    console.info(`job finished within grace: exit ${stopped.code} in ${Math.round(stopped.ms)} ms`);
    expect(stopped.code).toBe(0);
    expect(stopped.ms).toBeLessThan(graceMs);
    expect(isDone(job.parentTs)).toBe(true);
    await expectOneResult(job, 'C0STOP1', 'shutdown finishes in grace', 1);
    expect(workerOutput(worker)).not.toContain('handed back');
  }, 60_000);

  it('a job still delivering when the grace period ends is handed back and finished by the next worker without a second Together call', async () => {
    const first = await startWorker();
    // Together answers at once; the upload then hangs, so the job is past its Together call when SIGTERM comes.
    world.slack.inject('files.getUploadURLExternal', { kind: 'hang' });
    const job = await runningJob('C0STOP2', 'shutdown hands back');
    const hung = () => world.slack.callsTo('files.getUploadURLExternal').at(-1)?.outcome === 'hung';
    await waitFor('the upload to hang', hung, 20_000);
    const { code, ms, doneMs } = await handOver(first, job);
    console.info(
      `handed back after delivery began: exit ${code} in ${Math.round(ms)} ms (grace ${graceMs} ms); done by the next worker ${Math.round(doneMs)} ms after SIGTERM (lock ${world.config.queue.lockMs} ms)`,
    );
    expect(code).toBe(0);
    expect(ms).toBeGreaterThanOrEqual(graceMs);
    expect(ms).toBeLessThan(graceMs + 2000);
    expect(workerOutput(first)).toContain('job handed back to the queue');
    // Well before the lock would have expired: the job went straight back to the queue.
    expect(doneMs).toBeLessThan(world.config.queue.lockMs / 2);
    await expectOneResult(job, 'C0STOP2', 'shutdown hands back', 1);
  }, 90_000);

  it('a job whose Together call is still running when the grace period ends is aborted, handed back and generated again by the next worker', async () => {
    const first = await startWorker();
    world.together.inject('/images/generations', { kind: 'delay', ms: 60_000 });
    const job = await runningJob('C0STOP3', 'shutdown aborts the call');
    const { code, ms, doneMs } = await handOver(first, job);
    console.info(
      `handed back during the Together call: exit ${code} in ${Math.round(ms)} ms; done by the next worker ${Math.round(doneMs)} ms after SIGTERM`,
    );
    expect(code).toBe(0);
    expect(ms).toBeLessThan(graceMs + 2000);
    expect(workerOutput(first)).toContain('job handed back to the queue');
    expect(doneMs).toBeLessThan(world.config.queue.lockMs / 2);
    // The aborted call may have been billed by Together (the README says so); the user gets one image.
    await expectOneResult(job, 'C0STOP3', 'shutdown aborts the call', 2);
  }, 90_000);
});
