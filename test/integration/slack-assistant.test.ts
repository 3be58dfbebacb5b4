import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTIONS } from '../../src/adapters/slack/slack-format.js';
import type { AssistantThread, EventEnvelope } from '../contract/fakes/fake-slack.js';
import { decodeImage } from '../contract/fakes/test-images.js';
import { type Harness, startHarness } from '../helpers/lorabot-harness.js';
import { waitFor } from '../helpers/wait.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    configExtra: [
      // The assistant lives in each person's DM with lorabot: D0PANDA, D0EMU and D0YAK are allowed, D0OWL is not.
      'access:',
      '  slack: { workspaces: [T0LORABOT], channels: [C0GENERAL, D0PANDA, D0EMU, D0YAK] }',
      'budgets:',
      '  user_per_day_usd: 0.25',
      '  confirm_above_usd: 0.1',
    ].join('\n'),
  });
});

afterAll(async () => {
  await h.close();
});

const FOX_BODY = {
  model: 'black-forest-labs/FLUX.2-dev',
  prompt: 'in the style of TOK a trtcrd tarot style, a baby fox',
  width: 1000,
  height: 1000,
  steps: 28,
  n: 2,
  response_format: 'base64',
  output_format: 'jpeg',
  seed: 7,
  image_loras: [{ path: 'https://huggingface.co/multimodalart/flux-tarot-v1', scale: 0.9 }],
};
const SYSTEM = {
  role: 'system',
  content: 'You are a helpful assistant in a team chat. Answer briefly and clearly.',
};
const FOX_COST = 'Cost: $0.07 (2 images × 1 MP × $0.035/MP)';

function send(envelope: EventEnvelope): Promise<number> {
  return h.event(envelope);
}

/** Opens an assistant thread for `userId` and waits for lorabot's suggested prompts. */
async function openThread(userId: string): Promise<AssistantThread> {
  const { thread, envelope } = h.slack.openAssistantThread({ userId, contextChannelId: 'C0GENERAL' });
  expect(await send(envelope)).toBe(200);
  await waitFor('the suggested prompts', () => thread.prompts);
  return thread;
}

/** What lorabot posted in the thread, oldest first (the greeting is the first). */
function posted(thread: AssistantThread) {
  return h.slack.thread(thread.channel, thread.threadTs);
}

/** The status message of the `nth` job in the thread. */
function statusMessage(thread: AssistantThread, nth: number) {
  return posted(thread).filter((m) => m.text.startsWith('<@U0PANDA> ran '))[nth];
}

/** Waits until a job's loading statuses have ended with the cleared one, and returns those set since `from`. */
async function statusesSince(thread: AssistantThread, from: number, count: number) {
  await waitFor(
    'the thread status cleared',
    () => thread.statuses.length >= from + count || undefined,
    20_000,
  );
  return thread.statuses.slice(from);
}

async function settle() {
  await new Promise((resolve) => setTimeout(resolve, 500));
}

describe('Slack assistant threads: the AI app view, through the one inbound flow', () => {
  let thread: AssistantThread;

  it('greets a new thread and offers the team presets as suggested prompts', async () => {
    thread = await openThread('U0PANDA');
    expect(thread.channel).toBe('D0PANDA');
    expect(posted(thread)[0]!.text).toMatch(/^Hi! Write a question .* start with \*draw\* \(or \*flux\*\)/);
    expect(thread.prompts).toEqual({
      title: 'Try one of the team’s presets',
      prompts: [
        { title: 'Draw in the tarot style', message: 'draw a lighthouse on a cliff at dusk --lora tarot' },
        { title: 'Ask a question', message: 'What can you help me with?' },
      ],
    });
    const assistantCalls = h.slack.calls.filter((c) => c.method.startsWith('assistant.'));
    expect(assistantCalls.map((c) => [c.method, c.outcome, c.schemaErrors])).toEqual([
      ['assistant.threads.setSuggestedPrompts', 'ok', []],
    ]);
  });

  it('draws: "draw …" is a /flux delivered into the thread, its progress the thread status, its title the request', async () => {
    const slackCalls = h.slack.calls.length;
    expect(
      await send(h.slack.assistantMessage(thread, { text: 'draw a baby fox --lora tarot --n 2 --seed 7' })),
    ).toBe(200);
    const status = await waitFor('the status message', () => statusMessage(thread, 0));
    expect(await statusesSince(thread, 0, 3)).toEqual(['in queue, position 1', 'generating 2 images…', '']);
    expect(status.text).toBe(
      `<@U0PANDA> ran /flux a baby fox --lora tarot --n 2 --seed 7 · :white_check_mark: Done · ${FOX_COST}`,
    );
    expect(status.history[0]).toMatch(/Queued/);
    expect(thread.title).toBe('Image: a baby fox --lora tarot --n 2 --seed 7');
    const calls = h.together.callsTo('/images/generations');
    expect(calls).toHaveLength(1);
    expect(calls[0]!.body).toEqual(FOX_BODY);
    expect(calls[0]!.schemaErrors).toEqual([]);
    const files = h.slack.files.filter((f) => f.channel === thread.channel);
    expect(files.map((f) => f.thread_ts)).toEqual([thread.threadTs, thread.threadTs]);
    expect(decodeImage(files[0]!.bytes)).toMatchObject({ width: 1000, height: 1000 });
    await waitFor('the notice', () => posted(thread).find((m) => m.text.includes('Your image is ready')));
    expect(posted(thread).at(-1)!.text).toBe(`<@U0PANDA> Your image is ready. ${FOX_COST}`);
    // The buttons stand in for /flux, which Slack does not offer in assistant threads.
    const buttons = JSON.stringify(status.blocks);
    for (const action of ['regenerate', 'vary', 'edit', 'details'] as const)
      expect(buttons).toContain(ACTIONS[action]);
    // Nothing outside the thread: the DM holds only the thread's root.
    expect(h.slack.parents(thread.channel)).toHaveLength(1);
    // What the AI app view adds to a request: its title and three statuses (the README's figure).
    const methods = h.slack.calls.slice(slackCalls).map((c) => c.method);
    expect(methods.filter((m) => m.startsWith('assistant.'))).toEqual([
      'assistant.threads.setTitle',
      'assistant.threads.setStatus',
      'assistant.threads.setStatus',
      'assistant.threads.setStatus',
    ]);
    expect(h.slack.calls.flatMap((c) => c.schemaErrors)).toEqual([]);
  });

  it('answers: any other message is an /ask, answered in the thread with its cost', async () => {
    const from = thread.statuses.length;
    await send(h.slack.assistantMessage(thread, { text: 'what is a LoRA?' }));
    const status = await waitFor('the status message', () => statusMessage(thread, 1));
    expect(await statusesSince(thread, from, 3)).toEqual(['in queue, position 1', 'writing…', '']);
    await waitFor('the notice', () => posted(thread).find((m) => m.text.includes('Your answer is ready')));
    const cost = /Cost: \$0\.0000\d+ \(\d+ in \+ \d+ out tokens\)/;
    expect(status.text).toMatch(
      new RegExp(`^<@U0PANDA> ran /ask what is a LoRA\\? · .*Done · ${cost.source}$`),
    );
    expect(thread.title).toBe('what is a LoRA?');
    const call = h.together.callsTo('/chat/completions').at(-1)!;
    expect(call.body).toEqual({
      model: 'meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo',
      messages: [SYSTEM, { role: 'user', content: 'what is a LoRA?' }],
      max_tokens: 1024,
      stream: true,
    });
    const texts = posted(thread).map((m) => m.text);
    expect(texts.slice(-2)[0]).toBe('You asked: what is a LoRA?');
    expect(texts.at(-1)).toMatch(new RegExp(`^<@U0PANDA> Your answer is ready\\. ${cost.source}$`));
  });

  it('continues the conversation: the next question carries the earlier turn, under the same title', async () => {
    const from = thread.statuses.length;
    await send(h.slack.assistantMessage(thread, { text: 'and in one word?' }));
    expect(await statusesSince(thread, from, 3)).toEqual(['in queue, position 1', 'writing…', '']);
    await waitFor('the follow-up answer', () =>
      posted(thread).find((m) => m.text === 'You asked: and in one word?'),
    );
    expect(h.together.callsTo('/chat/completions').at(-1)!.body).toMatchObject({
      messages: [
        SYSTEM,
        { role: 'user', content: 'what is a LoRA?' },
        { role: 'assistant', content: 'You asked: what is a LoRA?' },
        { role: 'user', content: 'and in one word?' },
      ],
    });
    expect(thread.title).toBe('what is a LoRA?');
  });

  it('Regenerate on a result in the thread makes the new job in the same thread', async () => {
    const from = thread.statuses.length;
    const status = statusMessage(thread, 0)!;
    const press = await h.press({
      actionId: ACTIONS.regenerate,
      value: String(
        (status.blocks as Array<{ elements?: Array<{ value?: string }> }>).at(-1)!.elements![0]!.value,
      ),
      channelId: thread.channel,
      messageTs: status.ts,
      threadTs: thread.threadTs,
    });
    expect(press.status).toBe(200);
    const again = await waitFor('the new status message', () =>
      posted(thread).find((m) => m.text.startsWith('<@U0PANDA> ran /flux a baby fox') && m !== status),
    );
    expect(await statusesSince(thread, from, 3)).toEqual([
      'in queue, position 1',
      'generating 2 images…',
      '',
    ]);
    await waitFor('its Done', () => again.text.includes('Done'));
    await waitFor(
      'its notice',
      () => posted(thread).filter((m) => m.text.includes('Your image is ready'))[1],
    );
    expect(h.slack.files.filter((f) => f.thread_ts === thread.threadTs)).toHaveLength(4);
    expect(h.slack.parents(thread.channel)).toHaveLength(1);
  });

  it('asks Run / Cancel in the thread above the confirmation threshold, and Run makes the job there', async () => {
    const before = posted(thread).length;
    const from = thread.statuses.length;
    await send(h.slack.assistantMessage(thread, { text: 'draw three foxes --n 3' }));
    const question = await waitFor('the question', () =>
      posted(thread)
        .slice(before)
        .find((m) => m.text),
    );
    expect(question.text).toMatch(/above the \$0\.10 that needs a confirmation\. Run it\?/);
    expect(thread.statuses.slice(from)).toEqual([]);
    const run = /"action_id":"lorabot_run","value":"([^"]+)"/.exec(JSON.stringify(question.blocks))![1]!;
    const press = await h.press({
      actionId: ACTIONS.run,
      value: run,
      channelId: thread.channel,
      messageTs: question.ts,
      threadTs: thread.threadTs,
    });
    await waitFor('the question replaced', () =>
      h.slack.responses.find((r) => r.id === press.responseUrl.split('/').pop()),
    );
    const status = await waitFor('the status message', () =>
      posted(thread).find((m) => m.text.startsWith('<@U0PANDA> ran /flux three foxes')),
    );
    expect(await statusesSince(thread, from, 3)).toEqual([
      'in queue, position 1',
      'generating 3 images…',
      '',
    ]);
    await waitFor(
      'its notice',
      () => posted(thread).filter((m) => m.text.includes('Your image is ready'))[2],
    );
    expect(status.text).toContain('Done · Cost: $0.105 (3 images × 1 MP × $0.035/MP)');
    expect(h.slack.files.filter((f) => f.thread_ts === thread.threadTs)).toHaveLength(7);
    expect(h.slack.parents(thread.channel)).toHaveLength(1);
  });

  it('refuses over budget in the thread (the DM is private to the person): nothing queued or charged', async () => {
    const images = h.together.callsTo('/images/generations').length;
    const before = posted(thread).length;
    // $0.245 spent of $0.25; four more images would cost $0.14.
    await send(h.slack.assistantMessage(thread, { text: 'draw a fox parade --n 4' }));
    const refusal = await waitFor('the refusal', () =>
      posted(thread)
        .slice(before)
        .find((m) => m.text),
    );
    expect(refusal.text).toMatch(/^Over budget: You have spent \$0\.245\d* of your daily budget of \$0\.25/);
    expect(refusal.text).toContain('Nothing was queued or charged.');
    await settle();
    expect(posted(thread).slice(before)).toHaveLength(1);
    expect(h.together.callsTo('/images/generations')).toHaveLength(images);
  });

  it('answers a user error in the thread and queues nothing', async () => {
    const before = posted(thread).length;
    const calls = h.together.calls.length;
    await send(h.slack.assistantMessage(thread, { text: 'flux a fox --steps 500' }));
    const reply = await waitFor('the error', () =>
      posted(thread)
        .slice(before)
        .find((m) => m.text),
    );
    expect(reply.text).toMatch(/steps/i);
    await settle();
    expect(posted(thread).slice(before)).toHaveLength(1);
    expect(h.together.calls).toHaveLength(calls);
  });

  it('reports a failure in the thread and clears the status; Cancel on a running job works there too', async () => {
    const emu = await openThread('U0EMU');
    const ran = (text: string) => () =>
      posted(emu).find((m) => m.text.startsWith(`<@U0EMU> ran /flux ${text}`));
    h.together.inject('/images/generations', { kind: 'status', status: 401 });
    await send(h.slack.assistantMessage(emu, { text: 'draw a doomed fox' }));
    const failed = await waitFor('the failed job', ran('a doomed fox'));
    expect(await statusesSince(emu, 0, 3)).toEqual(['in queue, position 1', 'generating an image…', '']);
    await waitFor('the failure notice', () =>
      posted(emu).find((m) => m.text.startsWith('<@U0EMU> Your /flux request failed')),
    );
    expect(failed.text).toMatch(/Failed/);

    h.together.inject('/images/generations', { kind: 'delay', ms: 3000 });
    await send(h.slack.assistantMessage(emu, { text: 'draw a slow fox' }));
    const slow = await waitFor('the slow job', ran('a slow fox'));
    await waitFor('generating', () => emu.statuses.length === 5 || undefined);
    const jobId = /"action_id":"lorabot_cancel","value":"([^"]+)"/.exec(JSON.stringify(slow.blocks))![1]!;
    await h.press({
      actionId: ACTIONS.cancel,
      value: jobId,
      userId: 'U0EMU',
      channelId: emu.channel,
      messageTs: slow.ts,
      threadTs: emu.threadTs,
    });
    await waitFor('the cancelled status', () => slow.text.includes('Cancelled'), 20_000);
    expect(await statusesSince(emu, 3, 3)).toEqual(['in queue, position 1', 'generating an image…', '']);
    // The answer to the press is a message in the person's thread, as every private answer there.
    expect(posted(emu).some((m) => /cancel/i.test(m.text) && !m.text.includes(' ran '))).toBe(true);
    expect(h.slack.parents(emu.channel)).toHaveLength(1);
  });

  it('refuses a person whose DM is outside the access rules, in their thread', async () => {
    const owl = await openThread('U0OWL');
    const calls = h.together.calls.length;
    await send(h.slack.assistantMessage(owl, { text: 'what is a LoRA?' }));
    const refusal = await waitFor('the refusal', () => posted(owl)[1]);
    expect(refusal.text).toBe(
      'lorabot is not enabled here. Ask an admin to allow this channel. Nothing was queued or charged.',
    );
    await settle();
    expect(posted(owl)).toHaveLength(2);
    expect(owl.statuses).toEqual([]);
    expect(h.together.calls).toHaveLength(calls);
  });

  it('leaves alone a reply in an ordinary DM thread that continues no conversation (no AI app view)', async () => {
    const root = h.slack.seedMessage('D0YAK', 'an image lorabot made');
    const ordinary: AssistantThread = { channel: 'D0YAK', threadTs: root, userId: 'U0YAK', statuses: [] };
    const calls = h.slack.calls.length;
    const together = h.together.calls.length;
    expect(await send(h.slack.assistantMessage(ordinary, { text: 'nice one' }))).toBe(200);
    await settle();
    const there = h.slack.calls
      .slice(calls)
      .filter(
        (c) => c.args.thread_ts === root || c.args.channel === 'D0YAK' || c.args.channel_id === 'D0YAK',
      );
    expect(there.map((c) => c.method)).toEqual([]);
    expect(h.together.calls).toHaveLength(together);
  });
});
