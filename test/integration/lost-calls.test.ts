import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usageText } from '../../src/core/budget.js';
import { ledgerCsv } from '../../src/queue/ledger.js';
import { waitFor } from '../helpers/wait.js';
import { WorkerRig } from '../helpers/worker-rig.js';

const JOBS = 6;
/** The price of each job's one 256×256 image under the default pricing. */
const PRICE = 35_000;
/** Long enough that a held call is still at Together when its worker is killed. */
const HOLD_MS = 12_000;
const rig = new WorkerRig();

/** Image requests the fake held (each one a call that a killed worker then lost). */
const held = () => rig.together.callsTo('/images/generations').filter((c) => c.fault === 'delay').length;

beforeAll(async () => {
  // 4 jobs run at a time (the test config).
  await rig.start(['max_stalled_count: 5']);
}, 60_000);

afterAll(async () => {
  await rig.close();
});

describe('Together calls lost with a killed worker (SIGKILL during the call)', () => {
  it('charges the ledger exactly what Together served: one charge per image delivered, one marked entry per lost call', async () => {
    const { together, slack } = rig;
    // Round 1: the first 4 calls are held at Together, and the worker is killed.
    together.inject('/images/generations', { kind: 'delay', ms: HOLD_MS }, 4);
    const jobs = await Promise.all(
      Array.from({ length: JOBS }, (_, i) =>
        rig.enqueue(`lost call ${i} --size 256x256`, { channel: `C0LOST${i}`, userId: `U0LOST${i}` }),
      ),
    );
    await waitFor('4 calls held at Together', () => held() === 4, 20_000);
    // Round 2: the next 4 calls are held too. At most 2 jobs never started, so at least 2 of them are retries of
    // jobs whose first call was lost: those jobs lose a second call.
    together.inject('/images/generations', { kind: 'delay', ms: HOLD_MS }, 4);
    await rig.killAndRestart();
    await waitFor('4 more calls held at Together', () => held() === 8, 30_000);
    await rig.killAndRestart();

    for (const job of jobs) {
      await waitFor(`job ${job.channel} done`, () => rig.status(job).includes('Done'), 60_000);
    }
    // Every held request is answered 200 in the end, with no one listening: Together bills it all the same.
    await waitFor('Together to answer every request', () => together.handling === 0, HOLD_MS + 5_000);

    const served = together.generated.length;
    expect(served).toBe(8 + JOBS);
    for (const job of jobs) {
      expect(slack.files.filter((f) => f.thread_ts === job.parentTs)).toHaveLength(1);
      expect(rig.notices(job, 'Your image is ready')).toHaveLength(1);
    }
    const perJob = await Promise.all(jobs.map((job) => rig.entriesOf(job)));
    const entries = perJob.flat();
    const usd = entries.reduce((sum, e) => sum + e.micros, 0);
    expect(usd).toBe(served * PRICE);
    expect(entries.filter((e) => e.status === 'charged')).toHaveLength(JOBS);
    const lost = entries.filter((e) => e.status === 'possibly-billed');
    expect(lost).toHaveLength(8);
    expect(new Set(lost.map((e) => e.callId)).size).toBe(8);
    for (const entry of lost) {
      expect(entry).toMatchObject({
        micros: PRICE,
        note: 'earlier call, possibly billed (worker stopped during the call)',
      });
    }
    const lostPerJob = perJob.map((list) => list.filter((e) => e.status === 'possibly-billed').length);
    expect(lostPerJob.filter((n) => n === 2).length).toBeGreaterThanOrEqual(2);

    // The CSV marks them; /flux usage counts them apart.
    const csv = ledgerCsv(entries);
    expect(csv.split('\n').filter((row) => row.includes(',possibly-billed,'))).toHaveLength(8);
    const twice = jobs[lostPerJob.indexOf(2)]!;
    const spend = await rig.ledger.spend(
      { platform: 'slack', workspaceId: slack.teamId, channelId: twice.channel, userId: twice.userId },
      Date.now(),
    );
    expect(spend.userMonth).toBe(3 * PRICE);
    expect(usageText(spend, rig.config.budgets)).toContain(
      'Included this month: earlier Together calls, possibly billed (a worker stopped during the call): ' +
        "yours 2 calls ($0.07), this workspace's 8 calls ($0.28).",
    );
    console.info(
      `lost calls: ${JOBS} jobs, ${served} images served, ${entries.length} ledger entries ` +
        `(${JOBS} charged, ${lost.length} possibly billed), ledger $${usd / 1e6} = served $${(served * PRICE) / 1e6}`,
    );
  }, 150_000);

  it('charges nothing for a call Together refused (429) when the worker is killed while waiting to try again', async () => {
    const { together, slack } = rig;
    const refused = () => together.callsTo('/images/generations').filter((c) => c.fault === 'status').length;
    // Two 429s that ask for a 4 s pause (the tests' cap is 5 s): the worker is killed during the pause, with no request at Together.
    together.inject(
      '/images/generations',
      { kind: 'status', status: 429, headers: { 'retry-after': '4' } },
      2,
    );
    const jobs = await Promise.all(
      [0, 1].map((i) =>
        rig.enqueue(`refused call ${i} --size 256x256`, { channel: `C0WAIT${i}`, userId: `U0WAIT${i}` }),
      ),
    );
    await waitFor('2 calls refused with 429', () => refused() === 2, 20_000);
    // Give each worker a moment to clear its mark before the wait (one Redis round trip).
    await new Promise((r) => setTimeout(r, 300));
    await rig.killAndRestart();
    for (const job of jobs) {
      await waitFor(`job ${job.channel} done`, () => rig.status(job).includes('Done'), 60_000);
    }
    await waitFor('Together to answer every request', () => together.handling === 0, 10_000);
    const calls = together
      .callsTo('/images/generations')
      .filter((c) => (c.body as { prompt: string }).prompt.startsWith('refused call'));
    expect(calls.slice(0, 2).map((c) => c.fault)).toEqual(['status', 'status']);
    const served = calls.filter((c) => c.served).length;
    expect(served).toBeGreaterThanOrEqual(2);
    // Without the wait's mark cleared, each refused call is charged "possibly billed" too: 4 × the price for 2 served.
    const entries = (await Promise.all(jobs.map((job) => rig.entriesOf(job)))).flat();
    expect(entries.filter((e) => e.status === 'charged')).toHaveLength(2);
    expect(entries.reduce((sum, e) => sum + e.micros, 0)).toBe(served * PRICE);
    for (const job of jobs) expect(slack.files.filter((f) => f.thread_ts === job.parentTs)).toHaveLength(1);
  }, 90_000);
});
