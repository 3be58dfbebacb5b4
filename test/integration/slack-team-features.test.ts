import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SlackMessage } from '../contract/fakes/fake-slack.js';
import { CHAT_MODELS, expectSupportPrice, supportRequest } from '../helpers/chat-models.js';
import { type Harness, startHarness } from '../helpers/lorabot-harness.js';
import { waitFor } from '../helpers/wait.js';

let h: Harness;

beforeAll(async () => {
  // Images above $0.05 (two or more) ask Run / Cancel first; the `studio` preset works in C0STUDIO only.
  h = await startHarness({
    configExtra: [
      '  studio:',
      '    url: https://huggingface.co/owner/studio-light',
      '    description: Studio lighting',
      '    channels: ["C0STUDIO"]',
      'budgets:',
      '  confirm_above_usd: 0.05',
      ...CHAT_MODELS,
    ].join('\n'),
  });
});

afterAll(async () => {
  await h.close();
});

/** The value of a status message's button. */
function buttonValue(message: SlackMessage, actionId: string): string | undefined {
  const actions = (message.blocks ?? []) as Array<{
    type: string;
    elements?: Array<{ action_id?: string; value?: string }>;
  }>;
  return actions
    .flatMap((block) => (block.type === 'actions' ? (block.elements ?? []) : []))
    .find((e) => e.action_id === actionId)?.value;
}

function responsesTo(responseUrl: string) {
  const id = responseUrl.split('/').pop();
  return h.slack.responses.filter((r) => r.id === id);
}

async function finished(channel: string, user = 'U0PANDA') {
  const parent = await waitFor('the parent message', () => h.slack.parents(channel)[0]);
  await waitFor('the final status', () => /Done|Failed|Cancelled/.test(parent.text), 20_000);
  return { parent, thread: () => h.slack.thread(channel, parent.ts), user };
}

describe('Slack team features end to end (Bolt on signed requests, BullMQ on Redis, fake Slack and Together)', () => {
  it('limits a preset to its channels: listed and usable there, refused elsewhere with nothing queued', async () => {
    const listIn = async (channel: string) => {
      const asked = await h.slash({ channel_id: channel, command: '/flux', text: 'presets' });
      const url = new URLSearchParams(asked.body).get('response_url')!;
      return String((await waitFor('the presets list', () => responsesTo(url)[0])).body.text);
    };
    expect(await listIn('C0STUDIO')).toContain('• studio: scale 1 — Studio lighting');
    const elsewhere = await listIn('C0GENERAL');
    expect(elsewhere).toContain('• tarot');
    expect(elsewhere).not.toContain('studio');

    const imagesBefore = h.together.callsTo('/images/generations').length;
    const refused = await h.slash({
      channel_id: 'C0GENERAL',
      command: '/flux',
      text: 'a lamp --lora studio',
    });
    expect(JSON.parse(refused.text)).toEqual({
      response_type: 'ephemeral',
      text: 'The LoRA preset `studio` is not available in this channel. Presets for this channel: tarot. Or give an https link to a LoRA.',
    });

    // Two images of 1 MP, $0.07, are above the confirm threshold: Run parses it again where it was asked.
    const ran = await h.slash({
      channel_id: 'C0STUDIO',
      command: '/flux',
      text: 'a lamp --lora studio@0.7 --n 2',
    });
    const url = new URLSearchParams(ran.body).get('response_url')!;
    const question = await waitFor('the question', () => responsesTo(url)[0]);
    const pendingId = /"action_id":"lorabot_run","value":"([^"]+)"/.exec(
      JSON.stringify(question.body.blocks),
    )![1]!;
    await h.press({ actionId: 'lorabot_run', value: pendingId, channelId: 'C0STUDIO' });
    await finished('C0STUDIO');
    const calls = h.together.callsTo('/images/generations').slice(imagesBefore);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.body).toMatchObject({
      image_loras: [{ path: 'https://huggingface.co/owner/studio-light', scale: 0.7 }],
    });
    expect(h.slack.parents('C0GENERAL')).toHaveLength(0);
  });

  it('answers with a chat model preset: its id, system prompt, token limit and price; /ask models lists it', async () => {
    const listed = await h.slash({ channel_id: 'C0MODELS', command: '/ask', text: 'models' });
    const url = new URLSearchParams(listed.body).get('response_url')!;
    const list = String((await waitFor('the models list', () => responsesTo(url)[0])).body.text);
    expect(list).toContain('• support: Acme support, up to 256 tokens, $1.00 in / $2.00 out per 1M tokens');

    await h.slash({ channel_id: 'C0MODELS', command: '/ask', text: 'how do I rotate keys? --model support' });
    const { parent, thread } = await finished('C0MODELS');
    const call = h.together
      .callsTo('/chat/completions')
      .find((c) => JSON.stringify(c.body).includes('rotate keys'))!;
    expect(call.schemaErrors).toEqual([]);
    expect(call.body).toMatchObject(supportRequest('how do I rotate keys?'));
    expect(thread().some((m) => m.text.includes('You asked: how do I rotate keys?'))).toBe(true);
    expectSupportPrice(parent.text);
  });

  it('streams an answer by editing one message at most once per 1.2 s, ending with the full text', async () => {
    const words = Array.from({ length: 30 }, (_, i) => `word${i}`).join(' ');
    h.together.reply = () => words;
    h.together.chunkDelayMs = 120;
    try {
      const channel = 'C0STREAM';
      await h.slash({ channel_id: channel, command: '/ask', text: 'write thirty words' });
      const { parent, thread } = await finished(channel);
      const answer = thread().find((m) => m.history[0] === '▍')!;
      expect(answer.text).toBe(words);
      const edits = h.slack.callsTo('chat.update').filter((c) => c.args.ts === answer.ts);
      // 30 chunks × 120 ms ≈ 3.6 s: a few previews, then the final text.
      expect(edits.length).toBeGreaterThanOrEqual(3);
      expect(answer.history.slice(1, -1).every((t) => t.endsWith(' ▍'))).toBe(true);
      for (let i = 1; i < edits.length; i++) {
        expect(edits[i]!.at - edits[i - 1]!.at).toBeGreaterThanOrEqual(1195);
      }
      // One answer message, not a second copy; the cost is in the notice and the status.
      expect(thread().filter((m) => m.text.includes('word29'))).toHaveLength(1);
      expect(parent.text).toMatch(/Done · Cost: \$0\.\d+/);
    } finally {
      h.together.reply = (body) => `You asked: ${body.messages.at(-1)?.content ?? ''}`;
      h.together.chunkDelayMs = 0;
    }
  });

  it('ends a stream that breaks off with what arrived and a note, never a second copy', async () => {
    h.together.reply = () => 'one two three four five six seven eight';
    h.together.inject('/chat/completions', { kind: 'stream-drop', afterChunks: 4 });
    try {
      const channel = 'C0CUT';
      await h.slash({ channel_id: channel, command: '/ask', text: 'count for me' });
      const { parent, thread } = await finished(channel);
      expect(parent.text).toContain('Failed: The answer stopped partway');
      const answer = thread().find((m) => m.history[0] === '▍')!;
      expect(answer.text).toMatch(
        /^one two three four\s+\(The answer stopped partway: .*What arrived is above\.\)$/s,
      );
      expect(thread().filter((m) => m.text.includes('one two'))).toHaveLength(1);
      expect(
        h.together
          .callsTo('/chat/completions')
          .filter((c) => JSON.stringify(c.body).includes('count for me')),
      ).toHaveLength(1);
    } finally {
      h.together.reply = (body) => `You asked: ${body.messages.at(-1)?.content ?? ''}`;
    }
  });

  it('continues a conversation from a reply in the thread, sending the earlier turns and saying whose', async () => {
    const channel = 'C0CONVO';
    await h.slash({ channel_id: channel, command: '/ask', text: 'what is a LoRA?' });
    const { parent, thread } = await finished(channel);
    expect(
      await h.say({
        channelId: channel,
        threadTs: parent.ts,
        userId: 'U0OTTER',
        text: 'and how big is one?',
      }),
    ).toBe(200);
    const call = await waitFor('the follow-up request', () =>
      h.together.callsTo('/chat/completions').find((c) => JSON.stringify(c.body).includes('how big')),
    );
    const messages = (call.body as { messages: Array<{ role: string; content: string }> }).messages;
    expect(messages.slice(-3)).toEqual([
      { role: 'user', content: 'what is a LoRA?' },
      { role: 'assistant', content: 'You asked: what is a LoRA?' },
      { role: 'user', content: 'and how big is one?' },
    ]);
    const status = await waitFor('the follow-up status', () =>
      thread().find((m) => m.text.includes('<@U0OTTER> ran') && /Done/.test(m.text)),
    );
    expect(JSON.stringify(status.blocks)).toContain(
      "Context: the 2 earlier messages of this thread (questions from 1 other person, and lorabot's answers)",
    );
    await waitFor('the answer', () => thread().find((m) => m.text === 'You asked: and how big is one?'));
    // A message in a thread lorabot did not start is not a question to it.
    const before = h.together.calls.length;
    const other = h.slack.seedMessage(channel, 'a human thread');
    await h.say({ channelId: channel, threadTs: other, text: 'unrelated chatter' });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(h.together.calls.length).toBe(before);
  });

  it('Cancel aborts the request in flight at Together, says cancelled, and charges nothing', async () => {
    h.together.inject('/images/generations', { kind: 'delay', ms: 10_000 });
    const channel = 'C0CANCEL';
    const user = 'U0CANCEL';
    const calls = h.together.callsTo('/images/generations').length;
    await h.slash({
      channel_id: channel,
      user_id: user,
      command: '/flux',
      text: 'a slow panda --size 512x512',
    });
    const parent = await waitFor('the parent', () => h.slack.parents(channel)[0]);
    const call = await waitFor('the Together call', () => h.together.callsTo('/images/generations')[calls]);
    await waitFor('running', () => parent.text.includes('Running'));
    const jobId = buttonValue(parent, 'lorabot_cancel')!;
    // Someone else may not cancel it.
    const stranger = await h.press({
      actionId: 'lorabot_cancel',
      value: jobId,
      userId: 'U0STRANGER',
      channelId: channel,
    });
    await waitFor('the refusal', () => responsesTo(stranger.responseUrl)[0]);
    expect(String(responsesTo(stranger.responseUrl)[0]!.body.text)).toContain('Only the person who asked');
    const pressed = await h.press({
      actionId: 'lorabot_cancel',
      value: jobId,
      userId: user,
      channelId: channel,
    });
    expect(pressed.status).toBe(200);
    await waitFor('the cancelled status', () => parent.text.includes('Cancelled by <@U0CANCEL>'), 10_000);
    await waitFor('the connection to close', () => call.clientClosedEarly);
    expect(h.slack.thread(channel, parent.ts).some((m) => m.text.includes('ready'))).toBe(false);
    const day = new Date().toISOString().slice(0, 10);
    const ledger = h.running.workers!.ledgerView;
    expect(await ledger.total('user', `slack:${h.slack.teamId}:${user}`, 'day', day)).toBe(0);
  });

  it('asks Run / Cancel above the threshold and runs only after Run, once', async () => {
    const channel = 'C0CONFIRM';
    const asked = await h.slash({ channel_id: channel, command: '/flux', text: 'two pandas --n 2' });
    const responseUrl = new URLSearchParams(asked.body).get('response_url')!;
    const question = await waitFor('the question', () => responsesTo(responseUrl)[0]);
    expect(String(question.body.text)).toContain('may cost $0.07 (2 images × 1 MP × $0.035/MP)');
    expect(h.slack.parents(channel)).toHaveLength(0);
    const blocks = JSON.stringify(question.body.blocks);
    const pendingId = /"action_id":"lorabot_run","value":"([^"]+)"/.exec(blocks)![1]!;
    const images = h.together.callsTo('/images/generations').length;
    // Someone else's Run is refused and leaves the confirmation for its requester.
    const stranger = await h.press({
      actionId: 'lorabot_run',
      value: pendingId,
      channelId: channel,
      userId: 'U0STRANGER',
    });
    await waitFor('the refusal', () => responsesTo(stranger.responseUrl)[0]);
    expect(String(responsesTo(stranger.responseUrl)[0]!.body.text)).toBe(
      'Only the person who asked can run this request.',
    );
    expect(h.slack.parents(channel)).toHaveLength(0);
    await h.press({ actionId: 'lorabot_run', value: pendingId, channelId: channel });
    const { parent } = await finished(channel);
    expect(parent.text).toContain('Done · Cost: $0.07 (2 images × 1 MP');
    const again = await h.press({ actionId: 'lorabot_run', value: pendingId, channelId: channel });
    await waitFor('the second answer', () => responsesTo(again.responseUrl)[0]);
    expect(String(responsesTo(again.responseUrl)[0]!.body.text)).toContain('expired or was already answered');
    expect(h.together.callsTo('/images/generations').length).toBe(images + 1);
    expect(h.slack.parents(channel)).toHaveLength(1);

    // Cancel on the question: nothing runs.
    const declined = await h.slash({ channel_id: 'C0DECLINE', command: '/flux', text: 'more pandas --n 3' });
    const url = new URLSearchParams(declined.body).get('response_url')!;
    const q = await waitFor('the question', () => responsesTo(url)[0]);
    const id = /"action_id":"lorabot_dismiss","value":"([^"]+)"/.exec(JSON.stringify(q.body.blocks))![1]!;
    const dismissed = await h.press({ actionId: 'lorabot_dismiss', value: id, channelId: 'C0DECLINE' });
    await waitFor('the cancellation', () => responsesTo(dismissed.responseUrl)[0]);
    expect(String(responsesTo(dismissed.responseUrl)[0]!.body.text)).toContain(
      'Nothing was queued or charged',
    );
    expect(h.slack.parents('C0DECLINE')).toHaveLength(0);
  });

  it('Regenerate makes the same image with a new seed for whoever presses; Details shows the recipe', async () => {
    const channel = 'C0REROLL';
    await h.slash({
      channel_id: channel,
      command: '/flux',
      text: 'a fox --lora tarot@0.7 --seed 11 --size 512x512',
    });
    const { parent } = await finished(channel);
    const jobId = buttonValue(parent, 'lorabot_regenerate')!;
    expect(buttonValue(parent, 'lorabot_details')).toBe(jobId);
    const details = await h.press({ actionId: 'lorabot_details', value: jobId, channelId: channel });
    const recipe = String((await waitFor('the recipe', () => responsesTo(details.responseUrl)[0])).body.text);
    expect(recipe).toContain(`Recipe of job ${jobId}`);
    expect(recipe).toContain('LoRAs: tarot (https://huggingface.co/multimodalart/flux-tarot-v1) @ 0.7');
    expect(recipe).toContain('Seed: 11');
    expect(recipe).toContain('Size: 512x512, steps: 28, images: 1');
    await h.press({ actionId: 'lorabot_regenerate', value: jobId, userId: 'U0OTTER', channelId: channel });
    const second = await waitFor('the regenerated parent', () => h.slack.parents(channel)[1]);
    expect(second.text).toContain('<@U0OTTER> ran /flux a fox --lora tarot@0.7');
    await waitFor('done', () => second.text.includes('Done'), 20_000);
    const [first, again] = h.together
      .callsTo('/images/generations')
      .slice(-2)
      .map((c) => c.body as Record<string, unknown>);
    expect({ ...again, seed: 0 }).toEqual({ ...first, seed: 0 });
    expect(again!.seed).not.toBe(11);
  });

  it('/flux jobs lists a running job with a Cancel button; /flux notify dm sends the notice as a DM', async () => {
    h.together.inject('/images/generations', { kind: 'delay', ms: 1500 });
    const channel = 'C0JOBS';
    const user = 'U0JOBS';
    await h.slash({
      channel_id: channel,
      user_id: user,
      command: '/flux',
      text: 'a queued panda --size 512x512',
    });
    const parent = await waitFor('the parent', () => h.slack.parents(channel)[0]);
    await waitFor('running', () => parent.text.includes('Running'));
    const listed = await h.slash({ channel_id: channel, user_id: user, command: '/flux', text: 'jobs' });
    const list = await waitFor(
      'the list',
      () => responsesTo(new URLSearchParams(listed.body).get('response_url')!)[0],
    );
    expect(String(list.body.text)).toContain('/flux a queued panda');
    expect(String(list.body.text)).toContain('running');
    expect(JSON.stringify(list.body.blocks)).toContain(`"value":"${buttonValue(parent, 'lorabot_cancel')}"`);
    await waitFor('done', () => parent.text.includes('Done'), 20_000);

    const set = await h.slash({ channel_id: channel, user_id: user, command: '/flux', text: 'notify dm' });
    const answer = await waitFor(
      'the setting',
      () => responsesTo(new URLSearchParams(set.body).get('response_url')!)[0],
    );
    expect(String(answer.body.text)).toContain('a direct message');
    await h.slash({ channel_id: 'C0JOBS2', user_id: user, command: '/ask', text: 'tell me by DM' });
    const dm = await waitFor('the DM', () => h.slack.messages.find((m) => m.channel === user));
    expect(dm.text).toContain('<@U0JOBS> Your answer is ready');
    expect(dm.text).toContain('<#C0JOBS2>');
    const done = await finished('C0JOBS2', user);
    expect(done.thread().some((m) => m.text.includes('answer is ready'))).toBe(false);
  });
});
