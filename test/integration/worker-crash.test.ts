import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.js';
import { startWorkerProcess, stopWorkerProcess } from '../helpers/worker-process.js';
import { startWorkerWorld, type WorkerWorld } from '../helpers/worker-world.js';

let world: WorkerWorld;
let worker: ChildProcess | undefined;

beforeAll(async () => {
  // Short locks so a killed worker's job is picked up in seconds, not after the default 30 s.
  world = await startWorkerWorld(['lock_ms: 2000', 'stalled_interval_ms: 1000', 'max_stalled_count: 3']);
  worker = await startWorkerProcess(world.env);
}, 60_000);

afterAll(async () => {
  if (worker) await stopWorkerProcess(worker);
  await world.close();
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
    arm: () => world.slack.inject('chat.update', { kind: 'hang' }),
    reached: () => world.slack.callsTo('chat.update').at(-1)?.outcome === 'hung',
    calls: 1,
  },
  {
    name: 'during the Together call',
    arm: () => world.together.inject('/images/generations', { kind: 'delay', ms: 60_000 }),
    reached: (_, before) => world.together.callsTo('/images/generations').length > before,
    calls: 2,
  },
  {
    name: 'after the Together call, before delivery',
    arm: () => world.slack.inject('files.getUploadURLExternal', { kind: 'hang' }),
    reached: () => world.slack.callsTo('files.getUploadURLExternal').at(-1)?.outcome === 'hung',
    calls: 1,
  },
  {
    name: 'halfway through delivery (image posted, notice not yet)',
    arm: () => world.slack.inject('chat.postMessage', { kind: 'hang' }),
    reached: () => world.slack.callsTo('chat.postMessage').at(-1)?.outcome === 'hung',
    calls: 1,
  },
];

describe('worker crash (SIGKILL) and restart', () => {
  for (const [index, phase] of phases.entries()) {
    it(`recovers a job killed ${phase.name}: one result, one charge`, async () => {
      const channel = `C0CRASH${index}`;
      phase.arm();
      const before = world.together.callsTo('/images/generations').length;
      const { jobId, parentTs } = await world.enqueueFlux(
        channel,
        `crash test ${index} --size 256x256`,
        'U0CRASH',
      );
      await waitFor(`the job to reach: ${phase.name}`, () => phase.reached(jobId, before), 20_000);
      await stopWorkerProcess(worker!);
      worker = await startWorkerProcess(world.env);
      await waitFor(
        'the final status',
        () => world.slack.messages.find((m) => m.ts === parentTs)?.text.includes('Done'),
        30_000,
      );
      const prompt = `crash test ${index}`;
      const calls = world.together
        .callsTo('/images/generations')
        .filter((c) => JSON.stringify(c.body).includes(prompt));
      expect(calls).toHaveLength(phase.calls);
      expect(world.slack.files.filter((f) => f.thread_ts === parentTs)).toHaveLength(1);
      const notices = world.slack
        .thread(channel, parentTs)
        .filter((m) => m.text.startsWith('<@U0CRASH> Your image is ready'));
      expect(notices).toHaveLength(1);
      const entries = (await world.ledger.entries(new Date().toISOString().slice(0, 7))).filter(
        (e) => e.jobId === jobId,
      );
      expect(entries).toHaveLength(1);
      expect(entries[0]!.micros).toBe(35_000);
    }, 90_000);
  }
});
