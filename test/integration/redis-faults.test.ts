import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/lorabot-harness.js';
import { PrivateRedis } from '../helpers/private-redis.js';
import { waitFor } from '../helpers/wait.js';

let redis: PrivateRedis;
let h: Harness;

beforeAll(async () => {
  redis = await new PrivateRedis().start();
  // One person sends all 40 commands: the per-person cap is raised above that, so only Redis refuses.
  h = await startHarness({ redisUrl: redis.url, queueExtra: ['per_person_max_jobs: 100'] });
});

afterAll(async () => {
  await h.close();
  await redis.destroy();
});

async function health(): Promise<number> {
  return (await fetch(`${h.running.httpUrl}/healthz`)).status;
}

function notices(channel: string, ts: string) {
  return h.slack.thread(channel, ts).filter((m) => m.text.startsWith('<@U0PANDA> Your'));
}

describe('Redis faults (AOF, appendfsync always)', () => {
  it('Redis down when a command arrives: a prompt "try again shortly", nothing half-done, service resumes', async () => {
    await redis.kill();
    await waitFor('/healthz to report Redis down', async () => (await health()) === 503);
    const started = performance.now();
    const result = await h.slash({ channel_id: 'C0DOWN', command: '/ask', text: 'is anyone there?' });
    expect(result.status).toBe(200);
    const reply = await waitFor(
      'the private reply',
      () => h.slack.responses.find((r) => String(r.body.text).includes('Try again shortly')),
      3000,
    );
    expect(performance.now() - started).toBeLessThan(3000);
    expect(reply.body.response_type).toBe('ephemeral');
    expect(h.slack.parents('C0DOWN')).toHaveLength(0);
    expect(h.together.calls).toHaveLength(0);

    await redis.start();
    await waitFor('/healthz to recover', async () => (await health()) === 200, 15_000);
    await waitFor(
      'the gateway to accept commands again',
      async () => {
        const before = h.slack.parents('C0BACK').length;
        await h.slash({ channel_id: 'C0BACK', command: '/ask', text: 'back again?' });
        await new Promise((r) => setTimeout(r, 100));
        return h.slack.parents('C0BACK').length > before;
      },
      15_000,
    );
    const parent = h.slack.parents('C0BACK').at(-1)!;
    await waitFor('the answer after recovery', () => notices('C0BACK', parent.ts)[0], 20_000);
  });

  it('Redis killed and restarted under a steady load: no accepted job lost, none done twice', async () => {
    const channel = 'C0LOAD';
    const tellsSoFar = () =>
      h.slack.responses.filter((r) => String(r.body.text).includes('Try again shortly')).length;
    const toldBefore = tellsSoFar();
    const sent: Promise<unknown>[] = [];
    for (let i = 0; i < 40; i++) {
      if (i === 10) {
        await redis.kill();
        setTimeout(() => void redis.start(), 400);
      }
      sent.push(h.slash({ channel_id: channel, command: '/ask', text: `load ${i}` }));
      await new Promise((r) => setTimeout(r, 60));
    }
    await Promise.all(sent);
    await waitFor('Redis to be back', async () => (await health()) === 200, 30_000);
    // Every parent ends Done (accepted) or Failed "not queued" (refused while Redis was away): none is stuck.
    await waitFor(
      'every parent to reach a final state',
      () => h.slack.parents(channel).every((p) => /Done|Failed/.test(p.text)),
      30_000,
    );
    const parents = h.slack.parents(channel);
    const done = parents.filter((p) => p.text.includes('Done'));
    const refused = parents.filter((p) => p.text.includes('Failed'));
    expect(done.length + refused.length).toBe(parents.length);
    const told = tellsSoFar() - toldBefore;
    console.log(
      `redis-restart: sent 40, done ${done.length}, refused after posting ${refused.length}, told to retry ${told}`,
    );
    // How many go through after the outage depends on timing; what must hold: every command was either done once or
    // refused with "try again" (none lost, none stuck), and those sent before the kill all went through.
    expect(done.length).toBeGreaterThanOrEqual(10);
    expect(done.length + told).toBe(40);
    for (const parent of done) {
      expect(notices(channel, parent.ts), parent.text).toHaveLength(1);
      const question = /load \d+/.exec(parent.text)![0];
      const calls = h.together.calls.filter((c) => JSON.stringify(c.body).includes(`"${question}"`));
      expect(calls.length, question).toBeGreaterThanOrEqual(1);
    }
    for (const parent of refused) {
      expect(parent.text).toMatch(/Try again shortly/);
      expect(notices(channel, parent.ts)).toHaveLength(0);
    }
  });
});
