import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.js';
import { WorkerRig } from '../helpers/worker-rig.js';

const rig = new WorkerRig();

beforeAll(async () => {
  await rig.start(['max_stalled_count: 3']);
}, 60_000);

afterAll(async () => {
  await rig.close();
});

interface Phase {
  name: string;
  /** Arms a fault that holds the job at the phase. */
  arm(): void;
  /** True once the job is held there. */
  reached(before: number): boolean;
  /** Together calls expected in all for the job. */
  calls: number;
}

const phases: Phase[] = [
  {
    name: 'before the Together call (stuck posting "running")',
    arm: () => rig.slack.inject('chat.update', { kind: 'hang' }),
    reached: () => rig.slack.callsTo('chat.update').at(-1)?.outcome === 'hung',
    calls: 1,
  },
  {
    name: 'during the Together call',
    arm: () => rig.together.inject('/images/generations', { kind: 'delay', ms: 60_000 }),
    reached: (before) => rig.together.callsTo('/images/generations').length > before,
    calls: 2,
  },
  {
    name: 'after the Together call, before delivery',
    arm: () => rig.slack.inject('files.getUploadURLExternal', { kind: 'hang' }),
    reached: () => rig.slack.callsTo('files.getUploadURLExternal').at(-1)?.outcome === 'hung',
    calls: 1,
  },
  {
    name: 'halfway through delivery (image posted, notice not yet)',
    arm: () => rig.slack.inject('chat.postMessage', { kind: 'hang' }),
    reached: () => rig.slack.callsTo('chat.postMessage').at(-1)?.outcome === 'hung',
    calls: 1,
  },
];

describe('worker crash (SIGKILL) and restart', () => {
  for (const [index, phase] of phases.entries()) {
    it(`recovers a job killed ${phase.name}: one result, one charge per Together call`, async () => {
      phase.arm();
      const before = rig.together.callsTo('/images/generations').length;
      const prompt = `crash test ${index}`;
      const job = await rig.enqueue(`${prompt} --size 256x256`, {
        channel: `C0CRASH${index}`,
        userId: 'U0CRASH',
      });
      await waitFor(`the job to reach: ${phase.name}`, () => phase.reached(before), 20_000);
      await rig.killAndRestart();
      await waitFor('the final status', () => rig.status(job).includes('Done'), 30_000);
      const calls = rig.together
        .callsTo('/images/generations')
        .filter((c) => JSON.stringify(c.body).includes(prompt));
      expect(calls).toHaveLength(phase.calls);
      expect(rig.slack.files.filter((f) => f.thread_ts === job.parentTs)).toHaveLength(1);
      expect(rig.notices(job, 'Your image is ready')).toHaveLength(1);
      const entries = await rig.entriesOf(job);
      // One charge for the image delivered; a call lost with the killed worker has its own entry, marked.
      expect(entries.filter((e) => e.status === 'charged')).toHaveLength(1);
      expect(entries.filter((e) => e.status === 'possibly-billed')).toHaveLength(phase.calls - 1);
      expect(entries).toHaveLength(phase.calls);
      expect(entries.reduce((sum, e) => sum + e.micros, 0)).toBe(phase.calls * 35_000);
    }, 90_000);
  }
});
