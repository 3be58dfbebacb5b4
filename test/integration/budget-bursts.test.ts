import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Requester } from '../../src/core/budget.js';
import { BudgetReservations } from '../../src/queue/budget-reservations.js';
import { Ledger } from '../../src/queue/ledger.js';
import { createRedis } from '../../src/queue/redis-connection.js';
import { RedisKeys } from '../../src/queue/redis-keys.js';
import { type Harness, startHarness } from '../helpers/lorabot-harness.js';
import { ON_EACH_REDIS } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

/** 50 requests sent at once, as a script or an impatient person would. */
const BURST = 50;

interface Sender {
  userId: string;
  channelId: string;
}

/**
 * Sends `BURST` slash commands at the same moment and waits until each one is either queued (its status message
 * is in the channel) or refused privately. Returns the refusals' texts and the parents, once every job is done.
 */
async function burst(
  h: Harness,
  command: '/flux' | '/ask',
  text: (i: number) => string,
  who: (i: number) => Sender,
) {
  const urls = Array.from({ length: BURST }, () => h.slack.newResponseUrl());
  const ids = new Set(urls.map((url) => url.split('/').at(-1)!));
  const channels = new Set(Array.from({ length: BURST }, (_, i) => who(i).channelId));
  const parents = () => [...channels].flatMap((channel) => h.slack.parents(channel));
  const refusals = () =>
    h.slack.responses.filter((r) => ids.has(r.id) && r.body.response_type === 'ephemeral');
  const acks = await Promise.all(
    urls.map((url, i) =>
      h.slash({
        command,
        text: text(i),
        user_id: who(i).userId,
        channel_id: who(i).channelId,
        response_url: url,
      }),
    ),
  );
  expect(acks.every((ack) => ack.status === 200)).toBe(true);
  await waitFor(
    'every request queued or refused',
    () => parents().length + refusals().length === BURST,
    30_000,
  );
  await waitFor('every queued job done', () => parents().every((p) => p.text.includes('Done')), 30_000);
  return { parents: parents(), refusals: refusals().map((r) => String(r.body.text)) };
}

function requester(h: Harness, sender: Sender): Requester {
  return { platform: 'slack', workspaceId: h.slack.teamId, ...sender };
}

/** What the ledger says was spent in the sender's scopes, and what is still reserved there. */
async function spendAndWaiting(h: Harness, sender: Sender) {
  const keys = new RedisKeys(h.prefix);
  const connection = createRedis(h.redisUrl, 'worker', 'test-spend');
  const who = requester(h, sender);
  try {
    return {
      spend: await new Ledger(connection, keys).spend(who, Date.now()),
      waiting: await new BudgetReservations(connection, keys).waiting(who),
    };
  } finally {
    connection.disconnect();
  }
}

const SCOPES = [
  {
    scope: 'a person per day',
    budget: 'user_per_day_usd: 0.10',
    who: (_i: number): Sender => ({ userId: 'U0BURST', channelId: 'C0BURST' }),
    spent: (s: Awaited<ReturnType<typeof spendAndWaiting>>['spend']) => s.userDay,
    refusal: /^Over budget: You have spent \$0\.0(0|35|7) of your daily budget of \$0\.10/,
  },
  {
    scope: 'a channel per month',
    budget: 'channel_per_month_usd: 0.10',
    who: (i: number): Sender => ({ userId: `U0BURST${i}`, channelId: 'C0BURST' }),
    spent: (s: Awaited<ReturnType<typeof spendAndWaiting>>['spend']) => s.channelMonth,
    refusal:
      /^Over budget: This channel has spent \$0\.0(0|35|7) of this channel's monthly budget of \$0\.10/,
  },
  {
    scope: 'a workspace per month',
    budget: 'workspace_per_month_usd: 0.10',
    who: (i: number): Sender => ({ userId: `U0BURST${i}`, channelId: `C0BURST${i}` }),
    spent: (s: Awaited<ReturnType<typeof spendAndWaiting>>['spend']) => s.workspaceMonth,
    refusal:
      /^Over budget: This workspace has spent \$0\.0(0|35|7) of the workspace's monthly budget of \$0\.10/,
  },
];

describe.each(ON_EACH_REDIS.flatMap((redis) => SCOPES.map((scope) => ({ ...redis, ...scope }))))(
  'a burst against the budget of $scope on $where',
  ({ kind, budget, who, spent, refusal }) => {
    let h: Harness;

    beforeAll(async () => {
      h = await startHarness({ configExtra: ['budgets:', `  ${budget}`].join('\n'), redis: kind });
    });

    afterAll(async () => {
      await h.close();
    });

    it(`${BURST} simultaneous $0.035 images against $0.10: exactly 2 run, 0 pass the budget, the rest are refused privately`, async () => {
      const sent = await burst(h, '/flux', (i) => `burst ${i} --size 1024x768`, who);
      expect(sent.parents).toHaveLength(2);
      expect(sent.refusals).toHaveLength(BURST - 2);
      for (const text of sent.refusals) expect(text).toMatch(refusal);
      expect(h.together.calls.filter((c) => c.path.includes('images'))).toHaveLength(2);
      const after = await spendAndWaiting(h, who(0));
      expect(spent(after.spend)).toBe(70_000);
      expect(after.waiting).toEqual({ user: 0, channel: 0, workspace: 0 });
      console.log(
        `budget burst (${budget}, ${kind}): ${BURST} sent, 2 accepted, ${sent.refusals.length} refused, spent $0.07 of $0.10`,
      );
    });
  },
);

describe.each(ON_EACH_REDIS)('a burst of /ask against a daily budget on $where', ({ kind }) => {
  let h: Harness;
  const sender: Sender = { userId: 'U0ASKER', channelId: 'C0ASKBURST' };

  beforeAll(async () => {
    h = await startHarness({
      configExtra: ['budgets:', '  user_per_day_usd: 0.0007'].join('\n'),
      redis: kind,
    });
  });

  afterAll(async () => {
    await h.close();
  });

  it('admits only what fits at the upper bound, then settles each to its real cost: the budget is never passed', async () => {
    const sent = await burst(
      h,
      '/ask',
      (i) => `burst question ${i % 10}`,
      () => sender,
    );
    const estimate = Math.round(
      Number(/this request may cost \$(\d+\.\d+)/.exec(sent.refusals[0]!)![1]) * 1e6,
    );
    const admitted = Math.floor(700 / estimate);
    expect(admitted).toBeGreaterThanOrEqual(1);
    expect(sent.parents).toHaveLength(admitted);
    expect(sent.refusals).toHaveLength(BURST - admitted);
    const after = await spendAndWaiting(h, sender);
    // Settled: nothing is left waiting, and what was charged is the real cost, below the upper bounds reserved.
    expect(after.waiting.user).toBe(0);
    expect(after.spend.userDay).toBeGreaterThan(0);
    expect(after.spend.userDay).toBeLessThanOrEqual(admitted * estimate);
    expect(after.spend.userDay).toBeLessThanOrEqual(700);
    console.log(
      `ask burst (${kind}): ${BURST} sent, upper bound $${estimate / 1e6}, ${admitted} admitted, charged $${after.spend.userDay / 1e6} of $0.0007`,
    );
  });
});
