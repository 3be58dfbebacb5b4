import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeDiscord, FakeMessage } from '../contract/fakes/fake-discord.js';
import { type DiscordHarness, startDiscordHarness } from '../helpers/discord-harness.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Where a slash command's results go while its interaction token lives: new messages with the bot token (each
 * with its step's nonce, a reply to the status) where the bot can post; where the channel refuses the bot
 * (remembered for the next jobs there), onto the status through the interaction's webhook, and the notice by DM.
 */
const USER = '333333333333333333';
let h: DiscordHarness;
let discord: FakeDiscord;

beforeAll(async () => {
  h = await startDiscordHarness();
  ({ discord } = h);
});

afterAll(async () => {
  await h.close();
});

/** Sends a command and waits for its status to say Done; returns the status and what answered it besides. */
async function done(name: 'flux' | 'ask', text: string, channelId?: string) {
  const { id, status } = await finished(name, text, channelId);
  const notice = await waitFor('the notice', () =>
    discord.answersTo(id).find((m) => m.content.includes('is ready')),
  );
  return { id, status, notice, results: discord.answersTo(id).filter((m) => m.id !== status.id) };
}

/** Sends a command and waits for its status to say Done. */
async function finished(name: 'flux' | 'ask', text: string, channelId?: string) {
  const option = name === 'flux' ? 'prompt' : 'question';
  const { id } = discord.sendCommand({
    name,
    userId: USER,
    options: [{ name: option, type: 3, value: text }],
    ...(channelId ? { channelId } : {}),
  });
  const status = await waitFor(
    'the final status',
    () => {
      const message = discord.publicReply(id);
      return message?.content.includes('Done') ? message : undefined;
    },
    30_000,
  );
  return { id, status };
}

/** The Create Message calls lorabot made in a channel. */
function channelPosts(channelId: string) {
  return discord.calls.filter((c) => c.method === 'POST' && c.path === `/channels/${channelId}/messages`);
}

describe('Discord results of a slash command while its token lives', () => {
  it('an image: the gallery and the notice are bot messages with nonces, replying to the status', async () => {
    const before = channelPosts(discord.channelId).length;
    const { status, notice, results } = await done('flux', 'a nonce-guarded kite --size 256x256');
    expect(status.via).toBe('webhook');
    const gallery = results.find((m) => m.attachments.length > 0)!;
    for (const message of [gallery, notice] as FakeMessage[]) {
      expect(message.via).toBe('bot');
      expect(message.reply_to).toBe(status.id);
    }
    expect(results).toHaveLength(2);
    const posts = channelPosts(discord.channelId).slice(before);
    expect(posts).toHaveLength(2);
    for (const post of posts) {
      expect(post.body).toMatchObject({
        nonce: expect.any(String),
        enforce_nonce: true,
        message_reference: { message_id: status.id, fail_if_not_exists: false },
      });
      expect(post.schemaErrors).toEqual([]);
    }
    // Only the notice may ping, and only the requester.
    expect(gallery.allowed_mentions).toEqual({ parse: [], users: [USER] });
    expect(notice.allowed_mentions).toEqual({ parse: [], users: [USER] });
  }, 40_000);

  it('a streamed answer: opened and edited with the bot token, never through the webhook', async () => {
    const { status, results } = await done('ask', 'which token edits the answer?');
    const answer = results.find((m) => m.content.includes('You asked'))!;
    expect(answer.via).toBe('bot');
    expect(answer.reply_to).toBe(status.id);
    expect(answer.history[0]).toBe('▍');
    const edits = discord.calls.filter((c) => c.method === 'PATCH' && c.path.endsWith(`/${answer.id}`));
    expect(edits.length).toBeGreaterThan(0);
    expect(edits.every((c) => c.path === `/channels/${discord.channelId}/messages/${answer.id}`)).toBe(true);
  }, 40_000);

  it('a channel that refuses the bot (403 Missing Permissions): the results on the status, the notice by DM, and the channel not asked again for the next job', async () => {
    const thread = discord.openThread({ name: 'no send messages here' });
    discord.inject(new RegExp(`^POST /channels/${thread}/messages$`), { kind: 'missing-permissions' });
    const dmsBefore = discord.messagesIn(discord.dmChannelId).length;
    const image = await finished('flux', 'a refused kite --size 256x256', thread);
    const answer = await finished('ask', 'where does a refused answer go?', thread);
    // Each status carries its result; nothing else answered either interaction (no follow-up to lose on a crash).
    expect(image.status.attachments).toHaveLength(1);
    expect(answer.status.embeds).toEqual([
      { description: expect.stringContaining('You asked: where does a refused answer go?') },
    ]);
    for (const { id, status } of [image, answer]) {
      expect(status.via).toBe('webhook');
      expect(discord.answersTo(id).map((m) => m.id)).toEqual([status.id]);
    }
    const notices = await waitFor('both notices in the DM', () => {
      const dms = discord.messagesIn(discord.dmChannelId).slice(dmsBefore);
      return dms.length === 2 ? dms : undefined;
    });
    expect(notices.map((m) => m.content)).toEqual([
      expect.stringMatching(new RegExp(`^<@${USER}> Your image is ready\\..* \\(in <#${thread}>\\)$`)),
      expect.stringMatching(new RegExp(`^<@${USER}> Your answer is ready\\..* \\(in <#${thread}>\\)$`)),
    ]);
    // One refused call in all: the first job's gallery; its notice and the second job went the webhook's way at once.
    expect(channelPosts(thread).map((c) => c.status)).toEqual([403]);
    expect(discord.messagesIn(thread).map((m) => m.id)).toEqual([image.status.id, answer.status.id]);
  }, 60_000);
});
