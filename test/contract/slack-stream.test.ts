import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SlackDeliverer } from '../../src/adapters/slack/slack-deliverer.js';
import { FEEDBACK_ACTION } from '../../src/adapters/slack/slack-feedback.js';
import { STREAM_RAW_LIMIT } from '../../src/adapters/slack/slack-stream.js';
import type { SlackTarget, StepPost, StepRunner } from '../../src/core/jobs.js';
import { FakeSlack, type SlackMessage } from './fakes/fake-slack.js';

/** A journal in memory, as a job's steps are kept in Redis: a step that finished is not run again. */
function memorySteps(): StepRunner & { done: Map<string, string> } {
  const done = new Map<string, string>();
  return {
    done,
    async once(step, run) {
      if (done.has(step)) return;
      await run(postOf(step, this));
      done.set(step, 'done');
    },
    async value(step, run) {
      const known = done.get(`value:${step}`);
      if (known !== undefined) return known;
      const value = await run(postOf(step, this));
      done.set(`value:${step}`, value);
      return value;
    },
  };
}

/** A step's post on its first attempt. */
function postOf(step: string, steps: StepRunner = memorySteps()): StepPost {
  return { job: 'job-stream', step, retry: false, steps };
}

/** The job's last delivery: the whole answer after the stream `streamed`, with its cost and 👍/👎. */
function finish(
  d: SlackDeliverer,
  t: SlackTarget,
  streamed: string,
  answer: { jobId: string; text: string; costText: string; steps?: StepRunner },
): Promise<void> {
  return d.postFinalAnswer(t, { steps: memorySteps(), ...answer, streamed });
}

let slack: FakeSlack;
let client: WebClient;

function deliverer(): SlackDeliverer {
  return new SlackDeliverer(client, 1200);
}

function target(channel: string, workspaceId = slack.teamId): SlackTarget {
  const parentTs = slack.seedMessage(channel, 'parent');
  return { platform: 'slack', workspaceId, channelId: channel, userId: 'U0ASKER', parentTs };
}

function streamedMessage(t: SlackTarget): SlackMessage {
  const found = slack.thread(t.channelId, t.parentTs).find((m) => m.chunks);
  if (!found) throw new Error('no streamed message');
  return found;
}

/**
 * A stream a job's first attempt opened and left empty (its Together call refused, or its worker stopped), in a
 * new thread of `channel` holding `followUps` messages before it; `steps` is that attempt's journal, with the id.
 */
async function leftEmpty(channel: string, followUps = 0) {
  const t = target(channel);
  for (let i = 0; i < followUps; i++) slack.seedMessage(channel, `follow-up ${i}`, t.parentTs);
  const steps = memorySteps();
  const id = await steps.value('answer:stream', () =>
    deliverer().streaming!.open(t, postOf('answer:stream')),
  );
  return { t, id, steps };
}

/**
 * A worker that neither started the stream nor took it over finds it still empty and writes the whole answer in
 * it: no second stream, and the one message ends with the answer, no note.
 */
async function answeredByAnother(
  t: SlackTarget,
  id: string,
  answer: { jobId: string; text: string; costText: string },
): Promise<void> {
  const other = deliverer();
  await other.streaming!.preview(t, id, answer.text.slice(0, 8));
  await finish(other, t, id, answer);
  expect(slack.callsTo('chat.startStream')).toHaveLength(1);
  expect(streamedMessage(t)).toMatchObject({ streaming: false, text: answer.text });
}

beforeAll(async () => {
  slack = await new FakeSlack().start();
  client = new WebClient(slack.botToken, {
    slackApiUrl: slack.apiUrl,
    retryConfig: { retries: 0 },
  });
});

afterAll(async () => {
  await slack.close();
});

beforeEach(() => {
  slack.calls.length = 0;
});

describe('Slack native streaming (chat.startStream / appendStream / stopStream) against the fake Slack', () => {
  it('streams an answer in the thread to the requester, in order, escaped, and stops it with the cost and 👍/👎', async () => {
    const d = deliverer();
    const t = target('C0NATIVE');
    const id = await d.streaming!.open(t, postOf('answer:stream'));
    expect(id).toMatch(/^stream:/);
    const answer = 'Pandas eat **bamboo**. <!channel> & <@U0BOSS> are not pinged.';
    for (const cut of [7, 20, 40, answer.length]) await d.streaming!.preview(t, id, answer.slice(0, cut));
    await finish(d, t, id, {
      jobId: 'job-1',
      text: answer,
      costText: 'Cost: $0.000054 (123 in + 177 out tokens)',
    });

    const [start] = slack.callsTo('chat.startStream');
    expect(start!.args).toMatchObject({
      channel: 'C0NATIVE',
      thread_ts: t.parentTs,
      recipient_user_id: 'U0ASKER',
      recipient_team_id: slack.teamId,
    });
    const appends = slack.callsTo('chat.appendStream');
    expect(appends).toHaveLength(4);
    const streamCalls = [
      ...slack.callsTo('chat.startStream'),
      ...appends,
      ...slack.callsTo('chat.stopStream'),
    ];
    expect(streamCalls.flatMap((c) => c.schemaErrors)).toEqual([]);
    expect(streamCalls.every((c) => c.outcome === 'ok')).toBe(true);

    const message = streamedMessage(t);
    expect(message.streaming).toBe(false);
    // The chunks in the order sent: the task, four appends, then the task completed.
    const texts = message.chunks!.filter((c) => c.type === 'markdown_text').map((c) => c.text);
    expect(texts.join('')).toBe(
      'Pandas eat **bamboo**. &lt;!channel&gt; &amp; &lt;@U0BOSS&gt; are not pinged.',
    );
    expect(message.chunks!.at(0)).toMatchObject({ type: 'task_update', status: 'in_progress' });
    expect(message.chunks!.at(-1)).toMatchObject({ type: 'task_update', status: 'complete' });
    expect(JSON.stringify(message.blocks)).toContain('Cost: $0.000054 (123 in + 177 out tokens)');
    const buttons = (
      message.blocks as Array<{ type: string; elements: Array<Record<string, unknown>> }>
    ).find((b) => b.type === 'context_actions')!.elements[0]!;
    expect(buttons).toMatchObject({
      type: 'feedback_buttons',
      action_id: FEEDBACK_ACTION,
      positive_button: { value: 'up:job-1' },
      negative_button: { value: 'down:job-1' },
    });
    // Nothing else was posted or edited for the answer.
    expect(slack.callsTo('chat.update')).toHaveLength(0);
    expect(slack.callsTo('chat.postMessage')).toHaveLength(0);
  });

  it('shows a link with its real address, holding back a link until it is whole', async () => {
    const d = deliverer();
    const t = target('C0LINKS');
    const id = await d.streaming!.open(t, postOf('answer:stream'));
    const answer = 'See [the docs](https://evil.example/x) and ![a cat](https://img.example/c.png).';
    for (const cut of [10, 25, 45, 60, answer.length])
      await d.streaming!.preview(t, id, answer.slice(0, cut));
    await finish(d, t, id, { jobId: 'job-5', text: answer, costText: 'Cost: $0.01' });
    const message = streamedMessage(t);
    expect(message.text).toBe('See the docs (https://evil.example/x) and a cat (https://img.example/c.png).');
    // Every text it showed went on from the one before: nothing streamed was rewritten.
    expect(message.history.every((h, i) => i === 0 || h.startsWith(message.history[i - 1]!))).toBe(true);
    expect(message.history).toContain('See ');
  });

  it('falls back to the edit loop on ok:false, and remembers it per workspace and kind of channel', async () => {
    const d = deliverer();
    slack.inject('chat.startStream', { kind: 'error', error: 'method_not_supported_for_channel_type' });
    const first = target('C0PLAIN1', 'T0OLD');
    const id = await d.streaming!.open(first, postOf('answer:stream'));
    expect(id).not.toMatch(/^stream:/);
    await d.streaming!.preview(first, id, 'half an answer');
    await finish(d, first, id, { jobId: 'job-2', text: 'a whole answer', costText: 'Cost: $0.01' });
    const edited = slack.thread('C0PLAIN1', first.parentTs)[0]!;
    expect(edited.history).toEqual(['▍', 'half an answer ▍', 'a whole answer']);
    expect(JSON.stringify(edited.blocks)).toContain('feedback_buttons');
    expect(JSON.stringify(edited.blocks)).toContain('Cost: $0.01');

    // Another channel of the same kind in that workspace: no second failed call.
    await d.streaming!.open(target('C0PLAIN2', 'T0OLD'), postOf('answer:stream'));
    expect(slack.callsTo('chat.startStream')).toHaveLength(1);
    // A DM there, and a channel in another workspace, still try.
    expect(await d.streaming!.open(target('D0DIRECT', 'T0OLD'), postOf('answer:stream'))).toMatch(/^stream:/);
    expect(await d.streaming!.open(target('C0PLAIN3'), postOf('answer:stream'))).toMatch(/^stream:/);
    expect(slack.callsTo('chat.startStream')).toHaveLength(3);
  });

  it('treats unknown_method as the whole workspace unable to stream', async () => {
    const d = deliverer();
    slack.inject('chat.startStream', { kind: 'error', error: 'unknown_method' });
    expect(await d.streaming!.open(target('C0GRID1', 'T0ANCIENT'), postOf('answer:stream'))).not.toMatch(
      /^stream:/,
    );
    expect(await d.streaming!.open(target('D0GRID2', 'T0ANCIENT'), postOf('answer:stream'))).not.toMatch(
      /^stream:/,
    );
    expect(slack.callsTo('chat.startStream')).toHaveLength(1);
  });

  it('a retried job in a new process stops the stream its worker left and posts the answer whole, once', async () => {
    const crashed = deliverer();
    const t = target('C0CRASH');
    const steps = memorySteps();
    const id = await steps.value('answer:stream', () => crashed.streaming!.open(t, postOf('answer:stream')));
    await crashed.streaming!.preview(t, id, 'The first attempt got as far as');

    // The worker stopped; another process retries the job and finds the stream in the journal.
    const retried = deliverer();
    const again = await steps.value('answer:stream', () =>
      retried.streaming!.open(t, postOf('answer:stream')),
    );
    expect(again).toBe(id);
    await retried.streaming!.preview(t, again, 'The second attempt');
    await retried.streaming!.preview(t, again, 'The second attempt writes on');
    await finish(retried, t, again, {
      jobId: 'job-3',
      text: 'The second attempt writes on and ends.',
      costText: 'Cost: $0.02',
      steps,
    });
    // …and a third try after that (the journal has the delivery) posts nothing more.
    await finish(deliverer(), t, again, {
      jobId: 'job-3',
      text: 'The second attempt writes on and ends.',
      costText: 'Cost: $0.02',
      steps,
    });

    expect(slack.callsTo('chat.startStream')).toHaveLength(1);
    const stream = streamedMessage(t);
    expect(stream.streaming).toBe(false);
    expect(stream.text).toBe(
      'The first attempt got as far as\n\n_(Interrupted: the answer is posted below.)_',
    );
    const posted = slack.thread('C0CRASH', t.parentTs).filter((m) => !m.chunks);
    expect(posted.map((m) => m.text)).toEqual(['The second attempt writes on and ends.']);
    expect(JSON.stringify(posted[0]!.blocks)).toContain('Cost: $0.02');
    expect(slack.callsTo('chat.appendStream')).toHaveLength(1);
  });

  it('a job retried on another worker before anything was shown takes the empty stream over: one message, no note', async () => {
    // The first attempt opened the stream, then Together refused its call: nothing was appended.
    const { t, id, steps } = await leftEmpty('C0HANDOVER');
    const again = await steps.value('answer:stream', () =>
      deliverer().streaming!.open(t, postOf('answer:stream')),
    );
    expect(again).toBe(id);
    await answeredByAnother(t, id, {
      jobId: 'job-5',
      text: 'The retry writes the answer.',
      costText: 'Cost: $0.03',
    });

    const thread = slack.thread('C0HANDOVER', t.parentTs);
    expect(thread).toHaveLength(1);
    expect(JSON.stringify(thread[0]!.blocks)).toContain('Cost: $0.03');
  });

  it('reads a thread longer than a page to its end: a retry finds the stream it left, another worker takes it over', async () => {
    // A conversation of 250 follow-ups before this answer: its stream is on the thread's second page.
    const { t, id } = await leftEmpty('C0LONGTHREAD', 250);
    // The first attempt stopped before the journal kept the stream's id: its retry looks in the thread.
    const again = await deliverer().streaming!.open(t, { ...postOf('answer:stream'), retry: true });
    expect(again).toBe(id);
    await answeredByAnother(t, id, { jobId: 'job-6', text: 'Read to the end.', costText: 'Cost: $0.01' });

    // Both reads (the retry's and the takeover's) the same way: two pages of 200, with metadata, each accepted.
    const reads = slack.callsTo('conversations.replies');
    expect(
      reads.map((r) => [r.args.limit, r.args.include_all_metadata, r.args.cursor !== undefined]),
    ).toEqual([
      ['200', 'true', false],
      ['200', 'true', true],
      ['200', 'true', false],
      ['200', 'true', true],
    ]);
    expect(reads.map((r) => r.outcome)).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(reads.flatMap((r) => r.schemaErrors ?? [])).toEqual([]);
  });

  it('an answer longer than one streamed message goes on in messages, the footer on the last', async () => {
    const d = deliverer();
    const t = target('C0LONG');
    const id = await d.streaming!.open(t, postOf('answer:stream'));
    const paragraph = `${'word '.repeat(199)}word\n\n`;
    const answer = paragraph.repeat(Math.ceil((STREAM_RAW_LIMIT * 1.5) / paragraph.length));
    await d.streaming!.preview(t, id, answer.slice(0, 3000));
    await d.streaming!.preview(t, id, answer);
    await finish(d, t, id, { jobId: 'job-4', text: answer, costText: 'Cost: $0.05' });
    const stream = streamedMessage(t);
    expect(stream.text.length).toBeLessThanOrEqual(STREAM_RAW_LIMIT);
    expect(stream.blocks).toBeUndefined();
    const rest = slack.thread('C0LONG', t.parentTs).filter((m) => !m.chunks);
    expect(rest.length).toBeGreaterThan(0);
    const shown = [stream.text, ...rest.map((m) => m.text)].join(' ').replace(/\s+/g, ' ').trim();
    expect(shown).toBe(answer.replace(/\s+/g, ' ').trim());
    expect(JSON.stringify(rest.at(-1)!.blocks)).toContain('Cost: $0.05');
    expect(slack.calls.flatMap((c) => c.schemaErrors)).toEqual([]);
  });
});
