import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeDiscord, FakeMessage } from '../contract/fakes/fake-discord.js';
import type { FakeTogether } from '../contract/fakes/fake-together.js';
import { CHAT_MODELS, expectSupportPrice, supportRequest } from '../helpers/chat-models.js';
import { type DiscordHarness, startDiscordHarness } from '../helpers/discord-harness.js';
import { waitFor } from '../helpers/wait.js';

const USER = '333333333333333333';
const OTHER = '444444444444444444';
const CANCELLER = '555555555555555555';
let h: DiscordHarness;
let together: FakeTogether;
let discord: FakeDiscord;

beforeAll(async () => {
  // Images above $0.05 ask Run / Cancel first; the `studio` preset works in the test channel (and its threads) only.
  h = await startDiscordHarness({
    configExtra: (fake) =>
      [
        '  studio:',
        '    url: https://huggingface.co/owner/studio-light',
        '    description: Studio lighting',
        `    channels: ["${fake.channelId}"]`,
        'budgets:',
        '  confirm_above_usd: 0.05',
        ...CHAT_MODELS,
      ].join('\n'),
  });
  ({ together, discord } = h);
});

afterAll(async () => {
  await h.close();
});

const prompt = (value: string) => [{ name: 'prompt', type: 3, value }];

/** The status message of an interaction (its original response). */
async function statusOf(interactionId: string): Promise<FakeMessage> {
  return waitFor('the status message', () => {
    const id = discord.interaction(interactionId)?.originalId;
    return id ? discord.messages.find((m) => m.id === id) : undefined;
  });
}

function ephemeralReplyTo(interactionId: string): FakeMessage | undefined {
  return discord.messages.find((m) => m.interaction_id === interactionId && m.flags === 64);
}

describe('Discord team features end to end with real discord.js on the fake gateway', () => {
  it('limits a preset to its channel and its threads: autocomplete, /flux presets, use and refusal', async () => {
    const OTHER_CHANNEL = '777777777777777777';
    const choices = async (channelId?: string) => {
      const id = discord.sendAutocomplete({
        name: 'flux',
        option: 'lora',
        typed: 'st',
        ...(channelId ? { channelId } : {}),
      });
      const call = await waitFor('the autocomplete answer', () =>
        discord.calls.find((c) => c.path.startsWith(`/interactions/${id}/`)),
      );
      expect(call.schemaErrors).toEqual([]);
      return (call.body as { data: { choices: Array<{ value: string }> } }).data.choices.map((c) => c.value);
    };
    const thread = discord.openThread({ name: 'lamps' });
    expect(await choices()).toEqual(['studio']);
    expect(await choices(thread)).toEqual(['studio']);
    expect(await choices(OTHER_CHANNEL)).toEqual([]);

    const listed = discord.sendCommand({
      name: 'flux',
      options: prompt('presets'),
      channelId: OTHER_CHANNEL,
    });
    const list = await waitFor('the presets list', () => ephemeralReplyTo(listed.id));
    expect(list.content).toContain('tarot');
    expect(list.content).not.toContain('studio');

    const images = together.callsTo('/images/generations').length;
    const refused = discord.sendCommand({
      name: 'flux',
      options: [...prompt('a lamp'), { name: 'lora', type: 3, value: 'studio' }],
      userId: USER,
      channelId: OTHER_CHANNEL,
    });
    const refusal = await waitFor('the refusal', () => ephemeralReplyTo(refused.id));
    expect(refusal.content).toBe(
      'The LoRA preset `studio` is not available in this channel. Presets for this channel: tarot. Or give an https link to a LoRA.',
    );

    // A mention in a thread of the preset's channel may use it (512×512 stays under the confirm threshold).
    discord.sendMessage({
      content: `<@${discord.botId}> flux a lamp --lora studio@0.6 --size 512x512`,
      mention: true,
      userId: USER,
      channelId: thread,
    });
    const status = await waitFor('the status reply', () =>
      discord.messages.find((m) => m.channel_id === thread && m.content.includes('ran `/flux a lamp')),
    );
    await waitFor('done', () => status.content.includes('Done'), 20_000);
    const calls = together.callsTo('/images/generations').slice(images);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.body).toMatchObject({
      image_loras: [{ path: 'https://huggingface.co/owner/studio-light', scale: 0.6 }],
    });
  });

  it('answers with a chat model preset: its id, system prompt, token limit and price; /ask models lists it', async () => {
    const listed = discord.sendCommand({
      name: 'ask',
      options: [{ name: 'question', type: 3, value: 'models' }],
    });
    const list = await waitFor('the models list', () => ephemeralReplyTo(listed.id));
    expect(list.content).toContain(
      '• support: Acme support, up to 256 tokens, $1.00 in / $2.00 out per 1M tokens',
    );

    const asked = discord.sendCommand({
      name: 'ask',
      options: [
        { name: 'question', type: 3, value: 'how do I rotate keys?' },
        { name: 'model', type: 3, value: 'support' },
      ],
      userId: USER,
    });
    const status = await statusOf(asked.id);
    await waitFor('done', () => status.content.includes('Done'), 20_000);
    const call = together
      .callsTo('/chat/completions')
      .find((c) => JSON.stringify(c.body).includes('rotate keys'))!;
    expect(call.schemaErrors).toEqual([]);
    expect(call.body).toMatchObject(supportRequest('how do I rotate keys?'));
    expect(discord.messages.some((m) => m.content.includes('You asked: how do I rotate keys?'))).toBe(true);
    expectSupportPrice(status.content);
  });

  it('streams an answer by editing one message at most once per second, ending with the full text', async () => {
    const words = Array.from({ length: 24 }, (_, i) => `token${i}`).join(' ');
    together.reply = () => words;
    together.chunkDelayMs = 120;
    try {
      const asked = discord.sendCommand({
        name: 'ask',
        options: [{ name: 'question', type: 3, value: 'stream please' }],
        userId: USER,
      });
      const status = await statusOf(asked.id);
      await waitFor('done', () => status.content.includes('Done'), 20_000);
      const answer = discord.messages.find((m) => m.history[0] === '▍' && m.content === words)!;
      expect(answer).toBeDefined();
      const edits = discord.calls.filter(
        (c) => c.method === 'PATCH' && c.path.endsWith(`/messages/${answer.id}`),
      );
      expect(edits.length).toBeGreaterThanOrEqual(3);
      for (let i = 1; i < edits.length; i++)
        expect(edits[i]!.at - edits[i - 1]!.at).toBeGreaterThanOrEqual(995);
      expect(edits.every((c) => c.schemaErrors.length === 0)).toBe(true);
      expect(discord.messages.filter((m) => m.content.includes('token23'))).toHaveLength(1);
    } finally {
      together.reply = (body) => `You asked: ${body.messages.at(-1)?.content ?? ''}`;
      together.chunkDelayMs = 0;
    }
  });

  it('continues a conversation from a mention in its thread, and from a reply to its answer', async () => {
    discord.sendMessage({ content: `<@${discord.botId}> what is a LoRA?`, mention: true, userId: USER });
    const status = await waitFor('the status reply', () =>
      discord.messages.find((m) => m.content.includes('ran `/ask what is a LoRA?`')),
    );
    await waitFor('done', () => status.content.includes('Done'), 20_000);
    const thread = await waitFor('the thread', () => discord.threads.find((t) => t.id === status.id));
    discord.sendMessage({
      content: `<@${discord.botId}> how big is one?`,
      mention: true,
      userId: OTHER,
      channelId: thread.id,
    });
    const call = await waitFor('the follow-up request', () =>
      together.callsTo('/chat/completions').find((c) => JSON.stringify(c.body).includes('how big')),
    );
    expect((call.body as { messages: unknown[] }).messages.slice(-3)).toEqual([
      { role: 'user', content: 'what is a LoRA?' },
      { role: 'assistant', content: 'You asked: what is a LoRA?' },
      { role: 'user', content: 'how big is one?' },
    ]);
    const second = await waitFor('the follow-up status', () =>
      discord.messagesIn(thread.id).find((m) => m.content.includes('ran `/ask how big is one?`')),
    );
    expect(second.content).toContain(
      'Context: the 2 earlier messages of this thread (questions from 1 other person',
    );
    await waitFor('done', () => second.content.includes('Done'), 20_000);
    // A reply to the answer message continues the same conversation, with all four earlier turns.
    const answer = await waitFor('the answer', () =>
      discord.messagesIn(thread.id).find((m) => m.content === 'You asked: how big is one?'),
    );
    discord.sendMessage({
      content: `<@${discord.botId}> and smaller?`,
      mention: true,
      userId: USER,
      channelId: thread.id,
      replyTo: answer.id,
    });
    const third = await waitFor('the third request', () =>
      together.callsTo('/chat/completions').find((c) => JSON.stringify(c.body).includes('and smaller?')),
    );
    expect((third.body as { messages: unknown[] }).messages.slice(-5, -1)).toHaveLength(4);
    await waitFor('the third answer', () =>
      discord.messages.find((m) => m.content === 'You asked: and smaller?'),
    );
  });

  it('Cancel aborts the request in flight at Together and charges nothing; only the requester may press it', async () => {
    together.inject('/images/generations', { kind: 'delay', ms: 10_000 });
    const calls = together.callsTo('/images/generations').length;
    const command = discord.sendCommand({
      name: 'flux',
      options: [...prompt('a slow fox --size 512x512')],
      userId: CANCELLER,
    });
    const status = await statusOf(command.id);
    const call = await waitFor('the Together call', () => together.callsTo('/images/generations')[calls]);
    await waitFor('running', () => status.content.includes('Running'));
    const cancel = discord.buttonsOf(status.id).find((id) => id.startsWith('lorabot:cancel:'))!;
    const stranger = discord.pressButton({ messageId: status.id, customId: cancel, userId: OTHER });
    await waitFor('the refusal', () => ephemeralReplyTo(stranger.id));
    expect(ephemeralReplyTo(stranger.id)!.content).toContain('Only the person who asked');
    discord.pressButton({ messageId: status.id, customId: cancel, userId: CANCELLER });
    await waitFor(
      'the cancelled status',
      () => status.content.includes(`Cancelled by <@${CANCELLER}>`),
      10_000,
    );
    await waitFor('the connection to close', () => call.clientClosedEarly);
    const day = new Date().toISOString().slice(0, 10);
    expect(
      await h.running.workers!.ledgerView.total(
        'user',
        `discord:${discord.guildId}:${CANCELLER}`,
        'day',
        day,
      ),
    ).toBe(0);
  });

  it('asks Run / Cancel above the threshold and runs only after Run, once', async () => {
    const images = together.callsTo('/images/generations').length;
    const command = discord.sendCommand({ name: 'flux', options: prompt('two owls --n 2'), userId: USER });
    const question = await waitFor('the question', () => ephemeralReplyTo(command.id));
    expect(question.content).toContain('may cost $0.07 (2 images × 1 MP × $0.035/MP)');
    const run = discord.buttonsOf(question.id).find((id) => id.startsWith('lorabot:run:'))!;
    expect(together.callsTo('/images/generations').length).toBe(images);
    const pressed = discord.pressButton({ messageId: question.id, customId: run, userId: USER });
    const status = await statusOf(pressed.id);
    await waitFor('done', () => status.content.includes('Done · Cost: $0.07 (2 images × 1 MP'), 20_000);
    const again = discord.pressButton({ messageId: question.id, customId: run, userId: USER });
    await waitFor('the second answer', () => ephemeralReplyTo(again.id));
    expect(ephemeralReplyTo(again.id)!.content).toContain('expired or was already answered');
    expect(together.callsTo('/images/generations').length).toBe(images + 1);
  });

  it('Regenerate re-rolls the seed for the presser; Details shows the recipe; /flux jobs and notify dm work', async () => {
    const command = discord.sendCommand({
      name: 'flux',
      options: prompt('a heron --seed 5 --size 512x512'),
      userId: USER,
    });
    const status = await statusOf(command.id);
    await waitFor('done', () => status.content.includes('Done'), 20_000);
    const buttons = discord.buttonsOf(status.id);
    const details = discord.pressButton({
      messageId: status.id,
      customId: buttons.find((b) => b.startsWith('lorabot:details:'))!,
      userId: OTHER,
    });
    const recipe = await waitFor('the recipe', () => ephemeralReplyTo(details.id));
    expect(recipe.content).toContain('Seed: 5');
    expect(recipe.content).toContain('Size: 512x512');
    const regen = discord.pressButton({
      messageId: status.id,
      customId: buttons.find((b) => b.startsWith('lorabot:regenerate:'))!,
      userId: OTHER,
    });
    const second = await statusOf(regen.id);
    // The deferred reply exists before its first edit; under load the check must wait for that edit.
    await waitFor('the status text', () => second.content.includes(`<@${OTHER}> ran \`/flux a heron`));
    await waitFor('done', () => second.content.includes('Done'), 20_000);
    const [first, again] = together
      .callsTo('/images/generations')
      .slice(-2)
      .map((c) => c.body as Record<string, unknown>);
    expect({ ...again, seed: 0 }).toEqual({ ...first, seed: 0 });
    expect(again!.seed).not.toBe(5);

    // /flux jobs while a job runs.
    together.inject('/images/generations', { kind: 'delay', ms: 1500 });
    const slow = discord.sendCommand({
      name: 'flux',
      options: prompt('a slow heron --size 512x512'),
      userId: USER,
    });
    const slowStatus = await statusOf(slow.id);
    await waitFor('running', () => slowStatus.content.includes('Running'));
    const jobs = discord.sendCommand({ name: 'flux', options: prompt('jobs'), userId: USER });
    const list = await waitFor('the job list', () => ephemeralReplyTo(jobs.id));
    expect(list.content, list.content).toContain('/flux a slow heron');
    expect(discord.buttonsOf(list.id), list.content).toEqual([`lorabot:cancel:discord-${slow.id}`]);
    await waitFor('done', () => slowStatus.content.includes('Done'), 20_000);

    // Notifications by DM.
    const setting = discord.sendCommand({ name: 'flux', options: prompt('notify dm'), userId: USER });
    expect((await waitFor('the setting', () => ephemeralReplyTo(setting.id))).content).toContain(
      'a direct message',
    );
    const beforeAsk = discord.messages.length;
    const asked = discord.sendCommand({
      name: 'ask',
      options: [{ name: 'question', type: 3, value: 'ping me by DM' }],
      userId: USER,
    });
    const askStatus = await statusOf(asked.id);
    const dm = await waitFor('the DM', () =>
      discord.messagesIn(discord.dmChannelId).find((m) => m.content.includes('Your answer is ready')),
    );
    expect(dm.allowed_mentions).toEqual({ parse: [], users: [USER] });
    expect(discord.dmRecipients.get(discord.dmChannelId)).toBe(USER);
    await waitFor('done', () => askStatus.content.includes('Done'), 20_000);
    // The notice went by DM only: nothing new in the channel tells the requester.
    expect(
      discord.messages
        .slice(beforeAsk)
        .filter((m) => m.channel_id === discord.channelId && m.content.includes('Your answer is ready')),
    ).toEqual([]);
  });
});
