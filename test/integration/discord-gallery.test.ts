import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPONENTS_V2_FLAG, type FakeDiscord, type FakeMessage } from '../contract/fakes/fake-discord.js';
import type { FakeTogether } from '../contract/fakes/fake-together.js';
import { type DiscordHarness, startDiscordHarness } from '../helpers/discord-harness.js';
import { waitFor } from '../helpers/wait.js';

const USER = '222222222222222222';
let h: DiscordHarness;
let together: FakeTogether;
let discord: FakeDiscord;

beforeAll(async () => {
  h = await startDiscordHarness();
  ({ together, discord } = h);
});

afterAll(async () => {
  await h.close();
});

/** Sends `/flux` and waits until its status says Done; returns the interaction's messages. */
async function fluxDone(prompt: string): Promise<{ id: string; messages: FakeMessage[] }> {
  const { id } = discord.sendCommand({
    name: 'flux',
    userId: USER,
    options: [{ name: 'prompt', type: 3, value: prompt }],
  });
  await waitFor('the final status', () => discord.publicReply(id)?.content.includes('Done'), 30_000);
  return { id, messages: discord.answersTo(id) };
}

function buttons(jobId: string) {
  return ['Regenerate', 'Vary', 'Edit', 'Details'].map((label) => ({
    type: 2,
    style: 2,
    label,
    custom_id: `lorabot:${label.toLowerCase()}:${jobId}`,
  }));
}

describe('Discord image results as a Components V2 gallery', () => {
  it('posts 4 images as one message: a container with the gallery, the prompt, seed and cost, and the buttons', async () => {
    const { id, messages } = await fluxDone(
      'four <@&123> @everyone lanterns `x` --n 4 --seed 7 --size 256x256',
    );
    const galleries = messages.filter((m) => m.attachments.length > 0);
    expect(galleries).toHaveLength(1);
    const gallery = galleries[0]!;
    expect(gallery.flags & COMPONENTS_V2_FLAG).toBe(COMPONENTS_V2_FLAG);
    expect(gallery.content).toBe('');
    // With the bot token, a reply to the status (the channel takes the bot's messages).
    expect(gallery.via).toBe('bot');
    expect(gallery.reply_to).toBe(discord.publicReply(id)!.id);
    const names = gallery.attachments.map((a) => a.filename);
    expect(names).toEqual(
      [1, 2, 3, 4].map((i) => expect.stringMatching(new RegExp(`^lorabot-7-${i}\\.jpg$`))),
    );
    // The 4 images are what Together made, in order.
    const made = together.generated.slice(-4);
    expect(gallery.attachments.map((a, i) => Buffer.compare(a.bytes, made[i]!))).toEqual([0, 0, 0, 0]);
    const jobId = discord.buttonsOf(gallery.id)[0]!.replace('lorabot:regenerate:', '');
    expect(gallery.components).toEqual([
      {
        type: 17,
        components: [
          {
            type: 12,
            items: names.map((name) => ({
              media: { url: `attachment://${name}` },
              description: `Image: ${name}`,
            })),
          },
          {
            type: 10,
            content:
              '`four <@&123> @everyone lanterns ˋxˋ`\n-# Seed 7 · Cost: $0.14 (4 images × 1 MP × $0.035/MP)',
          },
          { type: 1, components: buttons(jobId) },
        ],
      },
    ]);
    // Mentions stay blocked: nobody but the requester could be pinged, and the text names nobody.
    expect(gallery.allowed_mentions).toEqual({ parse: [], users: [USER] });
    const post = discord.calls.find(
      (c) => c.status === 200 && String(JSON.stringify(c.body)).includes('"type":17'),
    )!;
    expect(post.schemaErrors).toEqual([]);
    expect(post.files.map((f) => f.name)).toEqual(names);
  }, 40_000);

  it('falls back to plain attachments when Discord refuses the V2 flag, and remembers the refusal there', async () => {
    discord.inject(/^POST \/channels\//, { kind: 'refuse-v2' });
    const since = discord.calls.length;
    const { messages } = await fluxDone('a refused gallery --n 2 --seed 9 --size 256x256');
    const withFlag = () =>
      discord.calls
        .slice(since)
        .filter((c) => (((c.body as { flags?: number } | undefined)?.flags ?? 0) & COMPONENTS_V2_FLAG) !== 0);
    expect(withFlag().map((c) => c.status)).toEqual([400]);
    const withImages = messages.filter((m) => m.attachments.length > 0);
    expect(withImages).toHaveLength(1);
    const plain = withImages[0]!;
    expect(plain.flags & COMPONENTS_V2_FLAG).toBe(0);
    expect(plain.components).toEqual([]);
    expect(plain.attachments.map((a) => a.filename)).toEqual(['lorabot-9-1.jpg', 'lorabot-9-2.jpg']);
    expect(plain.allowed_mentions).toEqual({ parse: [] });
    // The status still carries the result's buttons and cost.
    const status = messages.find((m) => m.content.includes('Done'))!;
    expect(status.content).toContain('Cost: $0.07');
    expect(discord.buttonsOf(status.id).map((b) => b.split(':')[1])).toEqual([
      'regenerate',
      'vary',
      'edit',
      'details',
    ]);
    // The next job in that channel sends plain attachments at once: no second refused V2 call.
    const next = await fluxDone('a second refused gallery --seed 10 --size 256x256');
    const images = next.messages.filter((m) => m.attachments.length > 0);
    expect(images.map((m) => m.flags & COMPONENTS_V2_FLAG)).toEqual([0]);
    expect(withFlag().map((c) => c.status)).toEqual([400]);
  }, 40_000);

  it('sends a gallery in a mention thread with the bot token, and its Regenerate button starts a new job', async () => {
    const before = discord.messages.length;
    discord.sendMessage({
      content: `<@${discord.botId}> flux a moth --seed 5 --size 256x256`,
      mention: true,
      userId: USER,
    });
    const gallery = await waitFor(
      'the gallery',
      () => discord.messages.slice(before).find((m) => (m.flags & COMPONENTS_V2_FLAG) !== 0),
      30_000,
    );
    expect(gallery.via).toBe('bot');
    expect(discord.threads.some((t) => t.id === gallery.channel_id)).toBe(true);
    const customId = discord.buttonsOf(gallery.id).find((b) => b.startsWith('lorabot:regenerate:'))!;
    expect(customId).toBeDefined();
    const calls = together.callsTo('/images/generations').length;
    discord.pressButton({ messageId: gallery.id, customId, userId: USER });
    await waitFor(
      'the regenerated image',
      () => together.callsTo('/images/generations').length > calls,
      30_000,
    );
  }, 60_000);
});
