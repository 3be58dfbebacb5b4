import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FEEDBACK_ACTION } from '../../src/adapters/slack/slack-feedback.js';
import { HOME_ACTIONS } from '../../src/adapters/slack/slack-home-view.js';
import type { DashboardData } from '../../src/adapters/web/web-protocol.js';
import type { SlackApiCall, SlackMessage } from '../contract/fakes/fake-slack.js';
import { type Harness, startHarness } from '../helpers/lorabot-harness.js';
import { waitFor } from '../helpers/wait.js';

let h: Harness;

/** An answer of 400 words ("tokens" to the fake), written over 6 s. */
const STORY = Array.from({ length: 400 }, (_, i) => `w${i}`).join(' ');

async function ask(channel: string, user = 'U0PANDA'): Promise<SlackMessage> {
  await h.slash({ channel_id: channel, user_id: user, command: '/ask', text: 'tell me a long story' });
  const parent = await waitFor('the parent message', () => h.slack.parents(channel)[0]);
  await waitFor(
    'the answer notice',
    () =>
      h.slack.thread(channel, parent.ts).find((m) => m.text.startsWith(`<@${user}> Your answer is ready`)),
    30_000,
  );
  return parent;
}

/** The calls that made one thread's answer message: native stream calls, or the edit loop's post and edits. */
function answerCalls(channel: string, parent: SlackMessage, answer: SlackMessage): SlackApiCall[] {
  return h.slack.calls.filter(
    (c) =>
      c.args.channel === channel &&
      ((c.method === 'chat.startStream' && c.args.thread_ts === parent.ts) ||
        (['chat.appendStream', 'chat.stopStream', 'chat.update'].includes(c.method) &&
          c.args.ts === answer.ts) ||
        (c.method === 'chat.postMessage' && c.args.thread_ts === parent.ts && c.args.text === '▍')),
  );
}

/** The dashboard's data, as the page reads it with the session a first visit gets. */
async function dashboard(): Promise<DashboardData> {
  const page = await fetch(`${h.running.httpUrl}/dashboard`);
  await page.text();
  const cookie = page.headers.get('set-cookie')!.split(';')[0]!;
  return (await (
    await fetch(`${h.running.httpUrl}/api/dashboard`, { headers: { cookie } })
  ).json()) as DashboardData;
}

function homeText(user: string): string {
  return JSON.stringify(h.slack.homeOf(user) ?? {});
}

describe('Slack native surfaces: streamed answers with feedback, and the Home tab', () => {
  beforeAll(async () => {
    h = await startHarness({ configExtra: 'budgets:\n  user_per_day_usd: 1\n  workspace_per_month_usd: 50' });
  });

  afterAll(async () => {
    h.together.chunkDelayMs = 0;
    await h.close();
  });

  it('streams a 400-token answer natively in the thread, in order, with the cost and 👍/👎 at the end; fewer calls than the edit loop', async () => {
    h.together.reply = () => STORY;
    h.together.chunkDelayMs = 15;
    const parent = await ask('C0NATIVE');
    const answer = h.slack.thread('C0NATIVE', parent.ts).find((m) => m.chunks)!;
    expect(answer.streaming).toBe(false);
    expect(answer.text).toBe(STORY);
    // Each text the message showed goes on from the one before: chunks arrived in order.
    expect(answer.history.every((t, i) => i === 0 || t.startsWith(answer.history[i - 1]!))).toBe(true);
    expect(answer.history.length).toBeGreaterThanOrEqual(3);
    const blocks = JSON.stringify(answer.blocks);
    expect(blocks).toMatch(/Cost: \$0\.\d+ \(\d+ in \+ 400 out tokens\)/);
    expect(blocks).toContain('"feedback_buttons"');
    const native = answerCalls('C0NATIVE', parent, answer);
    expect(native.every((c) => c.outcome === 'ok' && c.schemaErrors.length === 0)).toBe(true);
    expect(native.filter((c) => c.method === 'chat.update')).toHaveLength(0);

    // The same answer where the channel type refuses streams: today's edit loop, with the same footer.
    h.slack.inject('chat.startStream', { kind: 'error', error: 'method_not_supported_for_channel_type' });
    const old = await ask('G0EDITED');
    const edited = h.slack.thread('G0EDITED', old.ts).find((m) => m.history[0] === '▍')!;
    expect(edited.text).toBe(STORY);
    expect(JSON.stringify(edited.blocks)).toContain('"feedback_buttons"');
    const loop = answerCalls('G0EDITED', old, edited);
    // About 6 s (longer on a loaded machine): one edit per 1.2 s against one append per 2 s.
    expect(native.length).toBeLessThan(loop.filter((c) => c.method !== 'chat.startStream').length);
    const streamedMs = native.at(-1)!.at - native[0]!.at;
    expect(native.filter((c) => c.method === 'chat.appendStream').length).toBeLessThanOrEqual(
      Math.ceil(streamedMs / 2000) + 1,
    );

    // A second answer in a private channel: the refusal is remembered, no second failed call.
    const startsBefore = h.slack.callsTo('chat.startStream').length;
    await ask('G0EDITED2');
    expect(h.slack.callsTo('chat.startStream')).toHaveLength(startsBefore);
    h.together.chunkDelayMs = 0;
  }, 90_000);

  it('records one 👍/👎 per person per job, changeable, counted in /metrics and shown on the dashboard', async () => {
    const parent = h.slack.parents('C0NATIVE')[0]!;
    const answer = h.slack.thread('C0NATIVE', parent.ts).find((m) => m.chunks)!;
    const up = /"value":"(up:[^"]+)"/.exec(JSON.stringify(answer.blocks))![1]!;
    const jobId = up.slice(3);
    expect(
      (await h.press({ actionId: FEEDBACK_ACTION, value: up, userId: 'U0PANDA', channelId: 'C0NATIVE' }))
        .status,
    ).toBe(200);
    await h.press({ actionId: FEEDBACK_ACTION, value: up, userId: 'U0OTHER', channelId: 'C0NATIVE' });
    await h.press({
      actionId: FEEDBACK_ACTION,
      value: `down:${jobId}`,
      userId: 'U0OTHER',
      channelId: 'C0NATIVE',
    });
    await h.press({
      actionId: FEEDBACK_ACTION,
      value: `down:${jobId}`,
      userId: 'U0OTHER',
      channelId: 'C0NATIVE',
    });
    const job = await waitFor('the votes on the dashboard', async () => {
      const data = await dashboard();
      const listed = data.recentJobs.find((j) => j.jobId === jobId);
      return listed?.feedback?.down === 1 ? listed : undefined;
    });
    expect(job.feedback).toEqual({ up: 1, down: 1 });
    const metrics = await (await fetch(`${h.running.httpUrl}/metrics`)).text();
    expect(metrics).toContain('lorabot_feedback_total{platform="slack",vote="up",change="new"} 2');
    expect(metrics).toContain('lorabot_feedback_total{platform="slack",vote="down",change="changed"} 1');
    expect(metrics).toContain('lorabot_feedback_total{platform="slack",vote="down",change="same"} 1');
  });

  it('publishes the Home tab after a job with the spend against the budgets, the job with its thumbnail, cost and Regenerate', async () => {
    const user = 'U0HOMER';
    await h.slash({
      channel_id: 'C0HOME',
      user_id: user,
      command: '/flux',
      text: 'a lighthouse at dusk --seed 3',
    });
    await waitFor('the Home tab with the job', () => homeText(user).includes('Cost: $0.035'), 20_000);
    const text = homeText(user);
    expect(text).toContain('Today: *$0.035* of $1.00 (your daily budget)');
    expect(text).toContain('This month: *$0.035*');
    expect(text).toMatch(/Your workspace this month: \$0\.\d+ of \$50\.00/);
    expect(text).toContain('a lighthouse at dusk --seed 3');
    const file = h.slack.files.find((f) => f.channel === 'C0HOME')!;
    expect(text).toContain(`"slack_file":{"id":"${file.id}"}`);
    expect(text).toContain('*tarot*');
    expect(text).toContain('a mention in the job’s thread');
    const publishes = h.slack.callsTo('views.publish');
    expect(publishes.every((c) => c.outcome === 'ok' && c.schemaErrors.length === 0)).toBe(true);

    // Opening the tab publishes it at once.
    const before = h.slack.homes.length;
    expect(
      await h.appEvent({
        type: 'app_home_opened',
        user,
        channel: 'D0HOME',
        tab: 'home',
        event_ts: String(Date.now() / 1000),
      }),
    ).toBe(200);
    await waitFor('a publish on open', () => h.slack.homes.length > before);

    // The notification toggle goes through `/flux notify`, and the tab shows the new setting.
    await h.press({ actionId: HOME_ACTIONS.notify, value: 'dm', userId: user });
    await waitFor('the Home tab with DMs on', () => homeText(user).includes('a direct message'));

    // Regenerate runs the job again in its channel, through the inbound flow.
    const regenerate = /"action_id":"lorabot_home_regenerate","value":"((?:[^"\\]|\\.)*)"/.exec(
      homeText(user),
    )![1]!;
    const value = JSON.parse(JSON.parse(`"${regenerate}"`)) as { job: string; channel: string };
    expect(value.channel).toBe('C0HOME');
    await h.press({
      actionId: HOME_ACTIONS.regenerate,
      value: JSON.stringify(value),
      userId: user,
      channelId: 'D0HOME',
    });
    await waitFor('the regenerated job', () => h.slack.parents('C0HOME').length === 2);
    await waitFor(
      'a second image',
      () => h.slack.files.filter((f) => f.channel === 'C0HOME').length === 2,
      20_000,
    );
  }, 60_000);

  it('publishes again at most once per 10 s per person: jobs ending together are shown by one publish', async () => {
    const user = 'U0BUSY';
    const busy = (seed: number) =>
      h.slash({ channel_id: 'C0BUSY', user_id: user, command: '/flux', text: `a busy bee --seed ${seed}` });
    const shown = () => (homeText(user).match(/a busy bee/g) ?? []).length;
    await busy(1);
    await waitFor('the first job on the Home tab', () => shown() === 1, 20_000);
    // Two more jobs end within 10 s of that publish: one publish shows both, 10 s after the first.
    await busy(2);
    await busy(3);
    await waitFor('all three jobs on the Home tab', () => shown() === 3, 30_000);
    const times = h.slack.homes.filter((p) => p.user === user).map((p) => p.at);
    expect(times).toHaveLength(2);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(9_900);
  }, 60_000);
});
