import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAMES } from '../../src/queue/queue-names.js';
import { waitFor } from '../helpers/wait.js';
import { type QueuedImage, WorkerRig } from '../helpers/worker-rig.js';

const PRICE = 35_000;
const HOLD_MS = 8_000;
const rig = new WorkerRig();
let images: Queue;

const stateOf = async (job: QueuedImage) => (await images.getJob(job.jobId))?.getState();
const failed = (job: QueuedImage) => rig.notices(job, 'Your /flux request failed');
const enqueue = (name: string) =>
  rig.enqueue(`stalled ${name} --size 256x256`, {
    channel: `C0STALL${name.toUpperCase()}`,
    userId: `U0STALL${name.toUpperCase()}`,
  });
/** Gives a second report, if there were one, time to arrive. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 1_500));

beforeAll(async () => {
  // The first stall is one too many: BullMQ fails the job itself, without running lorabot's processor.
  await rig.start(['max_stalled_count: 0']);
  images = new Queue(QUEUE_NAMES.image, { connection: rig.connection, prefix: rig.prefix });
}, 60_000);

afterAll(async () => {
  await images?.close();
  await rig.close();
});

describe('a job BullMQ fails itself (stalled more than max_stalled_count)', () => {
  it('ends visibly in the worker that took it over: one failure message, status failed, the ledger what Together billed', async () => {
    const { together, slack } = rig;
    // One job held during its Together call, one after Together answered (its upload hangs); then the worker dies.
    together.inject('/images/generations', { kind: 'delay', ms: HOLD_MS });
    const during = await enqueue('during');
    await waitFor('the call held at Together', () => together.inFlight === 1, 20_000);
    slack.inject('files.getUploadURLExternal', { kind: 'hang' });
    const after = await enqueue('after');
    await waitFor(
      'the upload to hang',
      () => slack.callsTo('files.getUploadURLExternal').at(-1)?.outcome === 'hung',
      20_000,
    );
    await rig.killAndRestart();

    for (const job of [during, after]) {
      await waitFor(`${job.channel} failed`, () => rig.status(job).includes(':x: Failed:'), 30_000);
      await waitFor(`${job.channel} failed in BullMQ`, async () => (await stateOf(job)) === 'failed', 10_000);
      expect((await images.getJob(job.jobId))!.failedReason).toBe('job stalled more than allowable limit');
      expect(rig.status(job)).toContain('The job was interrupted too many times');
    }
    await waitFor('Together to answer the held call', () => together.handling === 0, HOLD_MS + 5_000);
    await settle();
    for (const job of [during, after]) {
      expect(failed(job)).toHaveLength(1);
      expect(slack.files.filter((f) => f.thread_ts === job.parentTs)).toHaveLength(0);
    }
    // Together served both images; each is in the ledger once, marked for what it was.
    expect(together.generated).toHaveLength(2);
    expect(await rig.entriesOf(during)).toEqual([
      expect.objectContaining({ status: 'possibly-billed', micros: PRICE }),
    ]);
    expect(await rig.entriesOf(after)).toEqual([
      expect.objectContaining({
        status: 'billed-failed',
        micros: PRICE,
        note: 'Together answered, but the job failed before delivering it',
      }),
    ]);
  }, 90_000);

  it('adds nothing to an end the processor reported (a failure, a cancellation) when BullMQ then emits `failed`', async () => {
    const { together } = rig;
    // 402: no credits, which only an operator can fix: the processor fails the job on its first attempt.
    together.inject('/images/generations', { kind: 'status', status: 402 });
    const refused = await enqueue('processor');
    together.inject('/images/generations', { kind: 'delay', ms: 3_000 });
    const cancelled = await enqueue('cancelled');
    await waitFor('the call held at Together', () => together.inFlight === 1, 20_000);
    expect(await rig.producer.cancel(cancelled.jobId, cancelled.userId)).toBe('stopping');
    await waitFor('failed', () => rig.status(refused).includes(':x: Failed:'), 20_000);
    await waitFor('cancelled', () => rig.status(cancelled).includes('Cancelled by'), 20_000);
    for (const job of [refused, cancelled]) {
      await waitFor(`${job.channel} failed in BullMQ`, async () => (await stateOf(job)) === 'failed', 10_000);
    }
    await settle();
    expect(failed(refused)).toHaveLength(1);
    expect(failed(cancelled)).toHaveLength(0);
    expect(rig.status(cancelled)).toContain('Cancelled by');
    expect(await rig.entriesOf(refused)).toEqual([]);
    expect(await rig.entriesOf(cancelled)).toEqual([]);
  }, 40_000);
});
