import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/cli.js';
import type { FakeDiscord, FakeMessage } from '../contract/fakes/fake-discord.js';
import type { FakeTogether } from '../contract/fakes/fake-together.js';
import { decodeImage } from '../contract/fakes/test-images.js';
import {
  type DiscordHarness,
  expectSafeDiscordCalls,
  startDiscordHarness,
} from '../helpers/discord-harness.js';
import { waitFor } from '../helpers/wait.js';

const USER = '222222222222222222';
let h: DiscordHarness;
let together: FakeTogether;
let discord: FakeDiscord;
let env: Record<string, string>;

beforeAll(async () => {
  h = await startDiscordHarness();
  ({ together, discord, env } = h);
});

afterAll(async () => {
  await h.close();
});

function notice(channelId: string, userId = USER): FakeMessage | undefined {
  return discord.messagesIn(channelId).find((m) => m.content.startsWith(`<@${userId}> Your`));
}

function messagesOfInteraction(id: string): FakeMessage[] {
  return discord.answersTo(id);
}

describe('Discord end to end with real discord.js on a fake gateway', () => {
  it('answers a mention "flux" with a LoRA: status reply, a thread with the image, the cost and a ping', async () => {
    const before = discord.messages.length;
    discord.sendMessage({
      content: `<@${discord.botId}> flux a red fox --lora tarot --size 512x384`,
      mention: true,
      userId: USER,
    });
    const status = await waitFor('the status reply', () =>
      discord.messages.slice(before).find((m) => m.content.includes('ran `/flux')),
    );
    expect(status.channel_id).toBe(discord.channelId);
    const thread = await waitFor('the thread', () => discord.threads.find((t) => t.id === status.id));
    const done = await waitFor('the completion notice', () => notice(thread.id));
    expect(done.content).toBe(`<@${USER}> Your image is ready. Cost: $0.035 (1 image × 1 MP × $0.035/MP)`);
    expect(done.allowed_mentions).toEqual({ parse: [], users: [USER] });
    const withImage = discord.messagesIn(thread.id).find((m) => m.attachments.length > 0)!;
    expect(decodeImage(withImage.attachments[0]!.bytes)).toMatchObject({ width: 512, height: 384 });
    expect(Buffer.compare(withImage.attachments[0]!.bytes, together.generated.at(-1)!)).toBe(0);
    await waitFor('the final status', () => status.content.includes('Done'));
    expect(status.history.some((c) => c.includes('Queued'))).toBe(true);
    expect(status.history.some((c) => c.includes('Running'))).toBe(true);
    expect(together.callsTo('/images/generations').at(-1)!.body).toMatchObject({
      image_loras: [{ path: 'https://huggingface.co/multimodalart/flux-tarot-v1', scale: 0.9 }],
    });
  });

  it('answers a plain mention as a question', async () => {
    const before = discord.messages.length;
    discord.sendMessage({ content: `<@${discord.botId}> what is a LoRA?`, mention: true, userId: USER });
    const status = await waitFor('the status reply', () =>
      discord.messages.slice(before).find((m) => m.content.includes('ran `/ask')),
    );
    const done = await waitFor('the completion notice', () => notice(status.id));
    expect(discord.messagesIn(status.id).map((m) => m.content)).toEqual([
      'You asked: what is a LoRA?',
      done.content,
    ]);
    expect(done.content).toMatch(
      /^<@222222222222222222> Your answer is ready\. Cost: \$0\.\d+ \(\d+ in \+ \d+ out tokens\)$/,
    );
  });

  it('answers a DM without a mention, replying in the DM', async () => {
    const before = discord.messages.length;
    discord.sendMessage({ content: 'ask how are DMs handled?', dm: true, userId: USER });
    const done = await waitFor('the completion notice', () => notice(discord.dmChannelId));
    expect(done.content).toMatch(/Your answer is ready/);
    expect(discord.messages.slice(before).every((m) => m.channel_id === discord.dmChannelId)).toBe(true);
  });

  it('runs /flux as an application command: deferred within 3 s, original reply kept current, image follow-up', async () => {
    const { id } = discord.sendCommand({
      name: 'flux',
      userId: USER,
      options: [
        { name: 'prompt', type: 3, value: 'a lighthouse at dusk' },
        { name: 'lora', type: 3, value: 'tarot@0.5' },
        { name: 'size', type: 3, value: '768x512' },
        { name: 'seed', type: 4, value: 3 },
      ],
    });
    const interaction = await waitFor('the deferral', () => {
      const state = discord.interaction(id);
      return state?.responded ? state : undefined;
    });
    expect(interaction.deferredAfterMs).toBeLessThan(3000);
    const original = await waitFor('the status reply', () => discord.publicReply(id));
    const done = await waitFor('the completion notice', () =>
      messagesOfInteraction(id).find((m) => m.content.includes('Your image is ready')),
    );
    expect(done.content).toBe(`<@${USER}> Your image is ready. Cost: $0.035 (1 image × 1 MP × $0.035/MP)`);
    await waitFor('the final status', () => original.content.includes('Done'));
    expect(original.content).toContain(
      'ran `/flux a lighthouse at dusk --lora tarot@0.5 --size 768x512 --seed 3`',
    );
    const image = messagesOfInteraction(id).find((m) => m.attachments.length === 1)!;
    expect(decodeImage(image.attachments[0]!.bytes)).toMatchObject({ width: 768, height: 512 });
    expect(Buffer.compare(image.attachments[0]!.bytes, together.generated.at(-1)!)).toBe(0);
  });

  it("takes /flux's typed image option as --image: the edit body, the command shown, the image", async () => {
    const link = 'https://cdn.discordapp.com/attachments/1/2/cat.png?ex=1&is=2&hm=3';
    const before = together.callsTo('/images/generations').length;
    const { id } = discord.sendCommand({
      name: 'flux',
      userId: USER,
      options: [
        { name: 'prompt', type: 3, value: 'the cat at night' },
        { name: 'image', type: 3, value: link },
        { name: 'size', type: 3, value: '512x512' },
      ],
    });
    const original = await waitFor('the status reply', () => discord.publicReply(id));
    await waitFor('the final status', () => original.content.includes('Done'));
    // The seed lorabot chose is shown too, so the command makes the same image again.
    expect(original.content).toContain('ran `/flux the cat at night --size 512x512 --seed ');
    expect(original.content).toContain(` --image ${link}\``);
    const calls = together.callsTo('/images/generations').slice(before);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.body).toMatchObject({ model: 'black-forest-labs/FLUX.2-dev', reference_images: [link] });
    expect(calls[0]!.schemaErrors).toEqual([]);
    const image = await waitFor('the image', () =>
      messagesOfInteraction(id).find((m) => m.attachments.length === 1),
    );
    expect(Buffer.compare(image.attachments[0]!.bytes, together.generated.at(-1)!)).toBe(0);
  });

  it('answers a user error in an application command privately and queues nothing', async () => {
    const calls = together.calls.length;
    const { id } = discord.sendCommand({
      name: 'flux',
      options: [{ name: 'prompt', type: 3, value: 'a cat --lora nope' }],
    });
    const call = await waitFor('the ephemeral reply', () =>
      discord.calls.find((c) => c.path.startsWith(`/interactions/${id}/`)),
    );
    const body = call.body as { type: number; data: { content: string; flags: number } };
    expect(body.type).toBe(4);
    expect(body.data.flags & 64).toBe(64);
    expect(body.data.content).toMatch(/Unknown LoRA preset `nope`/);
    await new Promise((r) => setTimeout(r, 200));
    expect(together.calls.length).toBe(calls);
  });

  it('splits a long, hostile model answer at 2,000 characters and lets it ping no one', async () => {
    const hostile = `@everyone <@&123456789012345678> @here ${'All work and no play. '.repeat(230)}`;
    together.reply = () => hostile;
    try {
      const { id } = discord.sendCommand({
        name: 'ask',
        userId: USER,
        options: [{ name: 'question', type: 3, value: 'say something long' }],
      });
      await waitFor('the completion notice', () =>
        messagesOfInteraction(id).find((m) => m.content.includes('Your answer is ready')),
      );
      const pieces = messagesOfInteraction(id).filter(
        (m) => !m.content.startsWith(`<@${USER}>`) && !m.content.includes('ran `/ask'),
      );
      expect(pieces.length).toBeGreaterThanOrEqual(3);
      for (const piece of pieces) {
        expect(piece.content.length).toBeLessThanOrEqual(2000);
        expect(piece.allowed_mentions).toEqual({ parse: [] });
      }
      expect(
        pieces
          .map((p) => p.content)
          .join(' ')
          .replace(/\s+/g, ' ')
          .trim(),
      ).toBe(hostile.trim().replace(/\s+/g, ' '));
    } finally {
      together.reply = (body) => `You asked: ${body.messages.at(-1)?.content ?? ''}`;
    }
  });

  it('delivers a job that finishes after the 15-minute token with the bot token, losing nothing', async () => {
    together.inject('/images/generations', { kind: 'delay', ms: 1500 });
    const { id } = discord.sendCommand({
      name: 'flux',
      userId: USER,
      options: [{ name: 'prompt', type: 3, value: 'a slow painting --size 256x256' }],
    });
    await waitFor('the queued status', () =>
      discord.publicReply(id)?.history.some((c) => c.includes('Queued')),
    );
    discord.clockOffsetMs = 16 * 60_000;
    try {
      const original = discord.publicReply(id)!;
      await waitFor('the final status', () => original.content.includes('Done'), 20_000);
      const byBot = discord.messagesIn(discord.channelId).filter((m) => m.via === 'bot');
      const image = byBot.find(
        (m) => m.attachments.length === 1 && m.attachments[0]!.bytes.equals(together.generated.at(-1)!),
      );
      expect(image).toBeDefined();
      const done = byBot.find((m) => m.content.startsWith(`<@${USER}> Your image is ready`));
      expect(done).toBeDefined();
      const expired = discord.calls.filter((c) => c.path.startsWith('/webhooks/') && c.status === 404);
      expect(expired.length).toBeGreaterThan(0);
      expect(
        discord.calls.some(
          (c) =>
            c.method === 'PATCH' &&
            c.path === `/channels/${discord.channelId}/messages/${original.id}` &&
            c.status === 200,
        ),
      ).toBe(true);
    } finally {
      discord.clockOffsetMs = 0;
    }
  });

  it('makes one job and one reply from an interaction delivered twice', async () => {
    const first = discord.sendCommand({
      name: 'ask',
      userId: USER,
      options: [{ name: 'question', type: 3, value: 'replayed?' }],
    });
    discord.sendCommand({
      name: 'ask',
      userId: USER,
      id: first.id,
      token: first.token,
      options: [{ name: 'question', type: 3, value: 'replayed?' }],
    });
    await waitFor('the completion notice', () =>
      messagesOfInteraction(first.id).find((m) => m.content.includes('Your answer is ready')),
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(discord.calls.filter((c) => c.path.startsWith(`/interactions/${first.id}/`))).toHaveLength(1);
    expect(
      messagesOfInteraction(first.id).filter((m) => m.content.includes('Your answer is ready')),
    ).toHaveLength(1);
    expect(together.calls.filter((c) => JSON.stringify(c.body).includes('replayed?'))).toHaveLength(1);
  });

  it('tells the user when an image is over the upload limit instead of dropping it', async () => {
    const { id } = discord.sendCommand({
      name: 'flux',
      userId: USER,
      attachmentSizeLimit: 1000,
      options: [{ name: 'prompt', type: 3, value: 'too big to attach --size 256x256' }],
    });
    const warning = await waitFor('the over-limit message', () =>
      messagesOfInteraction(id).find((m) => m.content.includes('upload limit')),
    );
    expect(warning.content).toMatch(
      /^Image 1 is \d+ KiB, over the 1 KiB upload limit here, so it could not be attached\.$/,
    );
    expect(messagesOfInteraction(id).some((m) => m.attachments.length > 0)).toBe(false);
    await waitFor('the completion notice', () =>
      messagesOfInteraction(id).find((m) => m.content.includes('Your image is ready')),
    );
  });

  it('waits out a Discord 429 and completes the delivery once', async () => {
    discord.inject(/^PATCH \/webhooks\//, { kind: 'rate-limited', retryAfterSeconds: 0.5 });
    const { id } = discord.sendCommand({
      name: 'ask',
      userId: USER,
      options: [{ name: 'question', type: 3, value: 'rate limited?' }],
    });
    const done = await waitFor('the completion notice', () =>
      messagesOfInteraction(id).find((m) => m.content.includes('Your answer is ready')),
    );
    const original = discord.publicReply(id)!;
    await waitFor('the final status', () => original.content.includes('Done'));
    expect(discord.calls.some((c) => c.status === 429)).toBe(true);
    expect(messagesOfInteraction(id).filter((m) => m.content === done.content)).toHaveLength(1);
    expect(messagesOfInteraction(id).filter((m) => m.content === 'You asked: rate limited?')).toHaveLength(1);
  });

  it('retries a Discord 5xx on a follow-up and delivers once', async () => {
    discord.inject(/^POST \/webhooks\//, { kind: 'http', status: 502 });
    const { id } = discord.sendCommand({
      name: 'ask',
      userId: USER,
      options: [{ name: 'question', type: 3, value: 'bad gateway?' }],
    });
    await waitFor('the completion notice', () =>
      messagesOfInteraction(id).find((m) => m.content.includes('Your answer is ready')),
    );
    expect(discord.calls.some((c) => c.status === 502)).toBe(true);
    expect(messagesOfInteraction(id).filter((m) => m.content === 'You asked: bad gateway?')).toHaveLength(1);
    expect(messagesOfInteraction(id).filter((m) => m.content.includes('Your answer is ready'))).toHaveLength(
      1,
    );
  });

  it('autocompletes LoRA preset names', async () => {
    const id = discord.sendAutocomplete({ name: 'flux', option: 'lora', typed: 'ta' });
    const call = await waitFor('the autocomplete answer', () =>
      discord.calls.find((c) => c.path.startsWith(`/interactions/${id}/`)),
    );
    expect(call.schemaErrors).toEqual([]);
    expect(call.body).toEqual({ type: 8, data: { choices: [{ name: 'tarot', value: 'tarot' }] } });
  });

  it('registers the commands for a guild with definitions the fake accepts against the spec', async () => {
    let stdout = '';
    const code = await main(['register-commands', '--guild', '1'], {
      stdout: (t) => {
        stdout += t;
      },
      stderr: () => {},
      env,
      cwd: tmpdir(),
    });
    expect(code).toBe(0);
    expect(stdout).toMatch(/Registered 3 commands in guild 1/);
    const put = discord.calls.find(
      (c) => c.method === 'PUT' && c.path === `/applications/${discord.applicationId}/guilds/1/commands`,
    )!;
    expect(put.status).toBe(200);
    expect(put.schemaErrors).toEqual([]);
    expect((put.body as Array<{ name: string; type: number }>).map((c) => [c.name, c.type])).toEqual([
      ['flux', 1],
      ['ask', 1],
      ['Edit with lorabot', 3],
    ]);
  });

  it('sent every message with allowed_mentions that can ping no one but a requester, and only valid bodies', () => {
    expectSafeDiscordCalls(discord, 10);
  });
});
