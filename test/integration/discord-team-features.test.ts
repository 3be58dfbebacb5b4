import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeDiscord, FakeMessage } from '../contract/fakes/fake-discord.js';
import type { FakeTogether } from '../contract/fakes/fake-together.js';
import { CHAT_MODELS } from '../helpers/chat-models.js';
import { type DiscordHarness, startDiscordHarness } from '../helpers/discord-harness.js';
import { waitFor } from '../helpers/wait.js';

const USER = '333333333333333333';
const OTHER = '444444444444444444';
let h: DiscordHarness;
let together: FakeTogether;
let discord: FakeDiscord;

beforeAll(async () => {
  // The `studio` preset works in the test channel (and its threads) only.
  h = await startDiscordHarness({
    configExtra: (fake) =>
      [
        '  studio:',
        '    url: https://huggingface.co/owner/studio-light',
        '    description: Studio lighting',
        `    channels: ["${fake.channelId}"]`,
        ...CHAT_MODELS,
      ].join('\n'),
  });
  ({ together, discord } = h);
});

afterAll(async () => {
  await h.close();
});

const prompt = (value: string) => [{ name: 'prompt', type: 3, value }];

/** The private answer to an interaction, once it has text (a deferral is an empty private message first). */
function ephemeralReplyTo(interactionId: string): FakeMessage | undefined {
  return discord.messages.find(
    (m) => m.interaction_id === interactionId && m.flags === 64 && m.content !== '',
  );
}

describe('Discord presets and threads end to end with real discord.js on the fake gateway', () => {
  it("offers a channel's presets in autocomplete, and lets a mention in a thread of that channel use them", async () => {
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

  it("starts a thread on a mention's status; a mention there, and a reply to its answer, continue the conversation", async () => {
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
});
