import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisKeys } from '../../src/queue/redis-keys.js';
import { WatchStore, watchJobId } from '../../src/queue/watch-store.js';
import { waitFor } from '../helpers/wait.js';
import { WorkerRig } from '../helpers/worker-rig.js';

const rig = new WorkerRig();
let watches: WatchStore;

beforeAll(async () => {
  await rig.start([], { configExtra: 'watch: { poll_running_ms: 200, poll_waiting_ms: 200 }' });
  watches = new WatchStore(rig.connection, new RedisKeys(rig.prefix));
}, 60_000);

afterAll(async () => {
  await watches.close();
  await rig.close();
});

describe('a watch survives its worker', () => {
  it('resumes after the worker is killed (SIGKILL) and announces the end once', async () => {
    const id = 'ft-crash-1';
    const channel = 'C0WATCHCRASH';
    rig.together.fineTunes.addFineTune(id, { stepMs: 1500, outputModel: 'lorabot-team/crash-ft' });
    const parentTs = rig.slack.seedMessage(channel, 'watch status');
    const target = {
      platform: 'slack' as const,
      workspaceId: rig.slack.teamId,
      channelId: channel,
      userId: 'U0CRASH',
      parentTs,
    };
    expect(await watches.create(id, { kind: 'fine-tune', target })).toBe(true);
    await watches.join(id, 'U0CRASH');
    await watches.poll(id, 'fine-tune');
    // A second start of the same watch adds no second poll job.
    await watches.poll(id, 'fine-tune');
    expect((await watches.queue.getJobs(['delayed', 'waiting', 'active'])).map((j) => j.id)).toEqual([
      watchJobId(id),
    ]);

    await waitFor('the first looks', () => rig.together.fineTunes.readsOf(id).length >= 2, 20_000);
    await rig.killAndRestart();
    const after = rig.together.fineTunes.readsOf(id).length;
    const notice = await waitFor(
      'the end notice',
      // The status message says "completed" too once it is updated: the notice is the other message.
      () => rig.slack.parents(channel).find((m) => m.ts !== parentTs && m.text.includes('completed')),
      30_000,
    );
    expect(rig.together.fineTunes.readsOf(id).length).toBeGreaterThan(after);
    expect(notice.text).toContain('<@U0CRASH> Fine-tune ft-crash-1 completed');
    await new Promise((r) => setTimeout(r, 800));
    expect(
      rig.slack.parents(channel).filter((m) => m.text.includes('completed') && m.ts !== parentTs),
    ).toHaveLength(1);
    // Looks are spaced by the cadence, never two at once for one watch.
    const times = rig.together.fineTunes.readsOf(id).map((c) => c.at);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(150);
  }, 90_000);
});
