import { tmpdir } from 'node:os';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiscordDeliverer, HANDOFF_LINE } from '../../src/adapters/discord/discord-deliverer.js';
import { MOVED_TO_DM } from '../../src/adapters/discord/discord-messages.js';
import { ANSWERED_PRIVATELY, DiscordStatusRecovery } from '../../src/adapters/discord/discord-status.js';
import { main } from '../../src/cli/cli.js';
import type { DiscordInteractionOrigin } from '../../src/core/intake.js';
import type { DiscordTarget } from '../../src/core/jobs.js';
import { COMPONENTS_V2_FLAG, FakeDiscord } from '../contract/fakes/fake-discord.js';
import type { FakeTogether } from '../contract/fakes/fake-together.js';
import { type DiscordHarness, startDiscordHarness } from '../helpers/discord-harness.js';
import { journal } from '../helpers/discord-status.js';
import { waitFor } from '../helpers/wait.js';

const USER = '333333333333333333';
let h: DiscordHarness;
let together: FakeTogether;
let discord: FakeDiscord;
let redis: Redis;

beforeAll(async () => {
  h = await startDiscordHarness();
  ({ together, discord } = h);
  redis = new Redis(h.env.REDIS_URL!);
});

afterAll(async () => {
  redis.disconnect();
  await h.close();
});

/** The calls made with an interaction's token, and every call to a channel route but the bot's DM. */
function callsOf(token: string) {
  return discord.calls.filter((c) => c.path.includes(`/${token}`));
}

/** The flags an interaction was deferred with (64: privately). */
function deferralFlags(token: string, fake = discord): number | undefined {
  const callback = fake.calls.find((c) => c.path.endsWith(`/${token}/callback`));
  const body = callback?.body as { type?: number; data?: { flags?: number } } | undefined;
  return body?.type === 5 ? (body.data?.flags ?? 0) : undefined;
}

function channelCalls() {
  return discord.calls.filter(
    (c) => c.path.startsWith('/channels/') && !c.path.startsWith(`/channels/${discord.dmChannelId}/`),
  );
}

/** The bot's messages in the DM with the person, from the `from`th on. */
function dmsFrom(from: number) {
  return discord.messagesIn(discord.dmChannelId).slice(from);
}

/** Sends a command through a person's own install and waits until its status says Done. */
async function doneThroughUserInstall(
  name: 'flux' | 'ask',
  context: 0 | 2,
  option: { name: string; value: string },
) {
  const { id, token } = discord.sendCommand({
    name,
    userId: USER,
    userInstall: { context },
    options: [{ ...option, type: 3 }],
  });
  const status = await waitFor(
    'the final status',
    () => (discord.publicReply(id)?.content.includes('Done') ? discord.publicReply(id) : undefined),
    30_000,
  );
  return { id, token, status };
}

/** The target the job was queued with, as Redis keeps it. */
async function queuedTarget(prompt: string): Promise<Record<string, unknown>> {
  const keys = await redis.keys(`${h.config.queue.prefix}:image:*`);
  for (const key of keys) {
    if ((await redis.type(key)) !== 'hash') continue;
    const data = await redis.hget(key, 'data');
    if (data?.includes(prompt)) return (JSON.parse(data) as { target: Record<string, unknown> }).target;
  }
  throw new Error(`no job for ${prompt}`);
}

describe('Discord user installs: lorabot where the bot is not a member', () => {
  it('answers /flux in a DM between people through the interaction webhook only: the status is the response, the image on it, the notice by DM', async () => {
    const channelsBefore = channelCalls().length;
    const dmsBefore = dmsFrom(0).length;
    const { id, token } = discord.sendCommand({
      name: 'flux',
      userId: USER,
      userInstall: { context: 2 },
      options: [{ name: 'prompt', type: 3, value: 'a paper boat --seed 11 --size 256x256' }],
    });
    const status = await waitFor('the status', () => discord.publicReply(id));
    expect(status.channel_id).toBe(discord.privateChannelId);
    await waitFor('the final status', () => status.content.includes('Done'), 30_000);
    expect(status.via).toBe('webhook');
    // Deferred publicly, and the status is that response filled (Discord makes it once per interaction): no
    // follow-up carries a status.
    expect(status.id).toBe(discord.interaction(id)?.originalId);
    expect(deferralFlags(token)).toBe(0);
    expect(status.history[0]).toBe('');
    const statusPosts = callsOf(token).filter(
      (c) => c.method === 'POST' && String((c.body as { content?: string }).content).includes('ran `/flux'),
    );
    expect(statusPosts).toEqual([]);
    expect(status.history.some((c) => c.includes('Running'))).toBe(true);
    // The image is a plain attachment of the status, which kept its status line and buttons through the edits.
    expect(status.attachments.map((a) => a.filename)).toEqual(['lorabot-11.jpg']);
    expect(Buffer.compare(status.attachments[0]!.bytes, together.generated.at(-1)!)).toBe(0);
    expect(status.flags & COMPONENTS_V2_FLAG).toBe(0);
    expect(discord.buttonsOf(status.id).map((b) => b.split(':')[1])).toEqual([
      'regenerate',
      'vary',
      'edit',
      'details',
    ]);
    // Nothing public was made through the webhook besides the status: no follow-up to lose on a crash.
    const publicOnes = discord.messages.filter((m) => m.interaction_id === id && (m.flags & 64) === 0);
    expect(publicOnes.map((m) => m.id)).toEqual([status.id]);
    const notice = await waitFor('the notice in the DM', () =>
      dmsFrom(dmsBefore).find((m) => m.content.startsWith(`<@${USER}> Your image is ready`)),
    );
    expect(notice.via).toBe('bot');
    // It says which request it is about: a link to the status, which Discord opens for the person.
    expect(notice.content).toContain(`https://discord.com/channels/@me/${status.channel_id}/${status.id}`);
    expect(dmsFrom(dmsBefore)).toHaveLength(1);
    expect(discord.dmRecipients.get(discord.dmChannelId)).toBe(USER);
    // Status edits (running, the image, done) by PATCH on the webhook; no channel post, no thread.
    const patches = callsOf(token).filter((c) => c.method === 'PATCH' && c.path.includes('/messages/'));
    expect(patches.length).toBeGreaterThanOrEqual(3);
    expect(patches.every((c) => c.schemaErrors.length === 0)).toBe(true);
    expect(channelCalls().slice(channelsBefore)).toEqual([]);
    expect(discord.threads.some((t) => t.id === status.id)).toBe(false);
    expect(
      discord.messages.filter((m) => m.channel_id === discord.privateChannelId && m.via === 'bot'),
    ).toEqual([]);
    // Budgets and the ledger see the place as a user install: its own "channel" in the DMs' workspace.
    expect(await queuedTarget('a paper boat')).toMatchObject({
      platform: 'discord',
      workspaceId: '',
      channelId: 'user-install',
      userId: USER,
      userInstall: true,
    });
  }, 40_000);

  it('answers /ask in a DM between people in an embed of its status, and the notice by DM', async () => {
    const dmsBefore = dmsFrom(0).length;
    const { id, token, status } = await doneThroughUserInstall('ask', 2, {
      name: 'question',
      value: 'where does the answer go?',
    });
    expect(status.embeds).toEqual([
      { description: expect.stringContaining('You asked: where does the answer go?') },
    ]);
    // The status line stays the status line; the answer grew in the embed (its first edit held the cursor).
    expect(status.content).toContain('ran `/ask');
    const embedEdits = callsOf(token).filter((c) => c.method === 'PATCH' && c.body && 'embeds' in c.body);
    expect((embedEdits[0]!.body as { embeds: unknown }).embeds).toEqual([{ description: '▍' }]);
    expect(embedEdits.length).toBeGreaterThanOrEqual(2);
    const publicOnes = discord.messages.filter((m) => m.interaction_id === id && (m.flags & 64) === 0);
    expect(publicOnes.map((m) => m.id)).toEqual([status.id]);
    await waitFor('the notice in the DM', () =>
      dmsFrom(dmsBefore).find((m) => m.content.startsWith(`<@${USER}> Your answer is ready`)),
    );
  }, 40_000);

  it('answers in a server the bot has not joined the same way, with the server as the workspace', async () => {
    const channelsBefore = channelCalls().length;
    const { status } = await doneThroughUserInstall('flux', 0, {
      name: 'prompt',
      value: 'a guest lantern --size 256x256',
    });
    expect(status.channel_id).toBe(discord.otherChannelId);
    expect(status.attachments).toHaveLength(1);
    expect(channelCalls().slice(channelsBefore)).toEqual([]);
    expect(await queuedTarget('a guest lantern')).toMatchObject({
      workspaceId: discord.otherGuildId,
      channelId: 'user-install',
      userInstall: true,
    });
  }, 40_000);

  it('says before the token runs out that the result will arrive by DM, and delivers it there', async () => {
    const dmsBefore = dmsFrom(0).length;
    // Made 14 min 52 s ago: the webhook has 8 s left before its last minute, and the image takes 12 s.
    const issuedAt = Date.now() - 15 * 60_000 + 68_000;
    together.inject('/images/generations', { kind: 'delay', ms: 12_000 });
    const { id } = discord.sendCommand({
      name: 'flux',
      userId: USER,
      userInstall: { context: 2 },
      issuedAt,
      options: [{ name: 'prompt', type: 3, value: 'a long voyage --seed 12 --size 256x256' }],
    });
    const status = await waitFor('the status', () => discord.publicReply(id));
    await waitFor('the handoff line', () => status.content.includes(HANDOFF_LINE), 20_000);
    expect(status.content).toContain('Running');
    const dm = await waitFor(
      'the image in the DM',
      () =>
        discord
          .messagesIn(discord.dmChannelId)
          .find((m) => m.attachments.some((a) => a.filename === 'lorabot-12.jpg')),
      30_000,
    );
    expect(dm.via).toBe('bot');
    expect(Buffer.compare(dm.attachments[0]!.bytes, together.generated.at(-1)!)).toBe(0);
    expect(discord.dmRecipients.get(discord.dmChannelId)).toBe(USER);
    const inDm = dmsFrom(dmsBefore);
    expect(inDm.filter((m) => m.content === MOVED_TO_DM)).toHaveLength(1);
    expect(inDm.indexOf(inDm.find((m) => m.content === MOVED_TO_DM)!)).toBeLessThan(inDm.indexOf(dm));
    await waitFor('the notice in the DM', () =>
      dmsFrom(dmsBefore).find((m) => m.content.startsWith(`<@${USER}> Your image is ready`)),
    );
    // Nothing was posted with the bot token where the command was used, and nothing after the handoff by webhook.
    expect(
      discord.messages.filter((m) => m.channel_id === discord.privateChannelId && m.via === 'bot'),
    ).toEqual([]);
    expect(discord.messages.filter((m) => m.interaction_id === id && m.attachments.length > 0)).toEqual([]);
  }, 60_000);

  it('registers the commands globally for both install types and all three contexts', async () => {
    let stdout = '';
    const code = await main(['register-commands'], {
      stdout: (t) => {
        stdout += t;
      },
      stderr: () => {},
      env: h.env,
      cwd: tmpdir(),
    });
    expect(code).toBe(0);
    expect(stdout).toMatch(/Registered 3 commands/);
    const put = discord.calls.find(
      (c) => c.method === 'PUT' && c.path === `/applications/${discord.applicationId}/commands`,
    )!;
    expect(put.status).toBe(200);
    expect(put.schemaErrors).toEqual([]);
    const commands = put.body as Array<{ name: string; integration_types: number[]; contexts: number[] }>;
    expect(commands.map((c) => [c.name, c.integration_types, c.contexts])).toEqual([
      ['flux', [0, 1], [0, 1, 2]],
      ['ask', [0, 1], [0, 1, 2]],
      ['Edit with lorabot', [0, 1], [0, 1, 2]],
    ]);
  });
});

describe('Discord user installs turned off', () => {
  it('answers privately that lorabot is not enabled there, and queues and charges nothing', async () => {
    const off = await startDiscordHarness({ configExtra: 'access:\n  discord: { user_installs: false }' });
    try {
      const { id } = off.discord.sendCommand({
        name: 'flux',
        userId: USER,
        userInstall: { context: 2 },
        options: [{ name: 'prompt', type: 3, value: 'a refused boat --size 256x256' }],
      });
      const answer = await waitFor('the private answer', () =>
        off.discord.messages.find((m) => m.interaction_id === id && m.content.includes('not enabled here')),
      );
      expect(answer.flags & 64).toBe(64);
      expect(off.discord.publicReply(id)).toBeUndefined();
      expect(off.together.callsTo('/images/generations')).toEqual([]);
      // No BullMQ job (a hash with data) was made.
      const keys = await redis.keys(`${off.config.queue.prefix}:image:*`);
      const jobs = [];
      for (const key of keys)
        if ((await redis.type(key)) === 'hash' && (await redis.hexists(key, 'data'))) jobs.push(key);
      expect(jobs).toEqual([]);
    } finally {
      await off.close();
    }
  }, 60_000);
});

describe('Discord user installs: private answers after the public deferral', () => {
  let c: DiscordHarness;
  beforeAll(async () => {
    c = await startDiscordHarness({ configExtra: 'budgets:\n  confirm_above_usd: 0.05' });
  });
  afterAll(async () => {
    await c.close();
  });

  /** `/flux` through a person's own install, in a DM between people. */
  const inDm = (prompt: string) =>
    c.discord.sendCommand({
      name: 'flux',
      userId: USER,
      userInstall: { context: 2 },
      options: [{ name: 'prompt', type: 3, value: prompt }],
    });

  /** The private answer with some text to an interaction. */
  const privateAnswer = (interactionId: string) =>
    c.discord.messages.find((m) => m.interaction_id === interactionId && m.flags === 64 && m.content !== '');

  it('asks to confirm privately (the public deferral removed first); Run makes the public status the press’s response', async () => {
    const { id, token } = inDm('a costly kite --n 2 --size 512x512');
    const question = await waitFor('the question', () => privateAnswer(id));
    expect(deferralFlags(token, c.discord)).toBe(0);
    // The deferral went before the follow-up: a follow-up to a deferral still "thinking" would take its place, public.
    const calls = c.discord.calls.filter((call) => call.path.includes(`/${token}`));
    expect(calls.map((call) => `${call.method} ${call.template} ${call.status}`)).toEqual([
      'POST /interactions/{interaction_id}/{interaction_token}/callback 204',
      'DELETE /webhooks/{webhook_id}/{webhook_token}/messages/@original 204',
      'POST /webhooks/{webhook_id}/{webhook_token} 200',
    ]);
    expect(c.discord.messages.filter((m) => m.interaction_id === id)).toEqual([question]);
    const run = c.discord.buttonsOf(question.id).find((b) => b.startsWith('lorabot:run:'))!;
    const pressed = c.discord.pressButton({
      messageId: question.id,
      customId: run,
      userId: USER,
      userInstall: { context: 2 },
    });
    const status = await waitFor(
      'the final status',
      () => {
        const original = c.discord.interaction(pressed.id)?.originalId;
        return c.discord.messages.find((m) => m.id === original && m.content.includes('Done'));
      },
      30_000,
    );
    expect(status.flags & 64).toBe(0);
    expect(status.channel_id).toBe(c.discord.privateChannelId);
    expect(
      c.discord.messages.filter((m) => m.interaction_id === pressed.id && m.content.includes('ran `/flux')),
    ).toEqual([status]);
  }, 60_000);

  it('fills the public deferral with a neutral line where Discord will not remove it, and still answers privately', async () => {
    c.discord.inject(/^DELETE \/webhooks\/\d+\/[^/]+\/messages\/@original$/, { kind: 'http', status: 404 });
    const { id } = inDm('a stubborn kite --n 2 --size 512x512');
    const question = await waitFor('the question', () => privateAnswer(id));
    const original = c.discord.messages.find((m) => m.id === c.discord.interaction(id)?.originalId)!;
    expect(original.id).not.toBe(question.id);
    expect(original.flags & 64).toBe(0);
    expect(original.history).toEqual(['', ANSWERED_PRIVATELY]);
    expect(question.content).toContain('a stubborn kite');
  }, 30_000);

  it('defers privately what only answers privately (usage)', async () => {
    const { id, token } = inDm('usage');
    const answer = await waitFor('the usage', () => privateAnswer(id));
    expect(deferralFlags(token, c.discord)).toBe(64);
    expect(answer.id).toBe(c.discord.interaction(id)?.originalId);
    expect(c.discord.publicReply(id)).toBeUndefined();
  }, 30_000);
});

describe("a worker's recovery of a user install's status", () => {
  let fake: FakeDiscord;
  let recovery: DiscordStatusRecovery;
  /** Interaction tokens as the worker finds them: by reference, until they expire. */
  const tokens = new Map<string, string>();
  const view = { jobId: 'intake-user-install-1', kind: 'flux' as const, command: '/flux a found boat' };
  const queued = { state: 'queued' as const, position: 0 };

  beforeAll(async () => {
    fake = await new FakeDiscord().start();
    recovery = new DiscordStatusRecovery({
      token: fake.token,
      apiUrl: fake.apiUrl,
      interactionTokens: { get: async (ref) => tokens.get(ref) },
    });
  });
  afterAll(async () => {
    await fake.close();
  });

  /** A user-install slash command in a DM between people, deferred publicly as the gateway defers it (or not at all). */
  async function command(deferred: boolean) {
    const sent = fake.sendCommand({
      name: 'flux',
      userId: USER,
      userInstall: { context: 2 },
      options: [{ name: 'prompt', type: 3, value: 'a found boat' }],
    });
    if (deferred) {
      const response = await fetch(`${fake.apiUrl}/v10/interactions/${sent.id}/${sent.token}/callback`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 5, data: { flags: 0 } }),
      });
      expect(response.status).toBe(204);
    }
    tokens.set(`ref-${sent.id}`, sent.token);
    const origin: DiscordInteractionOrigin = {
      platform: 'discord',
      via: 'interaction',
      interactionId: sent.id,
      target: {
        platform: 'discord',
        workspaceId: '',
        channelId: 'user-install',
        userId: USER,
        resultChannelId: fake.privateChannelId,
        interaction: {
          applicationId: fake.applicationId,
          tokenRef: `ref-${sent.id}`,
          expiresAt: Date.now() + 900_000,
        },
        attachmentLimit: 10 * 1024 * 1024,
        userInstall: true,
      },
    };
    return { ...sent, origin };
  }

  it('makes the deferred response the status, and a second recovery edits the same message', async () => {
    const { id, origin } = await command(true);
    const first = await recovery.post(origin, view, queued);
    const again = await recovery.post(origin, view, { state: 'queued', position: 1 });
    const original = fake.interaction(id)?.originalId;
    expect(first.target).toMatchObject({ statusMessageId: original, userInstall: true });
    expect(again.target).toEqual(first.target);
    const statuses = fake.messages.filter((m) => m.content.includes('ran `/flux'));
    expect(statuses.map((m) => [m.id, m.flags, m.channel_id])).toEqual([
      [original, 0, fake.privateChannelId],
    ]);
    // Nothing read or posted with the bot token where the bot is no member.
    expect(fake.calls.filter((c) => c.path.startsWith('/channels/'))).toEqual([]);
  });

  it('posts the status in the person’s DM with its nonce where the interaction was never answered', async () => {
    const { origin } = await command(false);
    const first = await recovery.post(origin, view, queued);
    const again = await recovery.post(origin, view, queued);
    expect(again.target).toEqual(first.target);
    const inDm = fake.messagesIn(fake.dmChannelId).filter((m) => m.content.includes('ran `/flux'));
    expect(inDm.map((m) => m.id)).toEqual([
      first.target.platform === 'discord' ? first.target.statusMessageId : '',
    ]);
    expect(fake.dmRecipients.get(fake.dmChannelId)).toBe(USER);
    // Without the token: what follows goes to the DM too.
    expect(first.target).not.toHaveProperty('interaction');
    expect(first.target).toMatchObject({ statusInDm: fake.dmChannelId });
  });

  it('keeps a status it put in the DM current there, and sends the results after it without saying they moved', async () => {
    const { origin } = await command(false);
    const job = { ...view, jobId: 'intake-user-install-3' };
    const posted = await recovery.post(origin, job, queued);
    const target = posted.target as DiscordTarget;
    const deliverer = new DiscordDeliverer({ token: fake.token, apiUrl: fake.apiUrl });
    const before = fake.messagesIn(fake.dmChannelId).length;
    await deliverer.updateStatus(target, job, { state: 'done', costText: 'Cost: $0.035' });
    const status = fake.messages.find((m) => m.id === target.statusMessageId)!;
    expect(status.channel_id).toBe(fake.dmChannelId);
    expect(status.content).toContain('Done');
    const bytes = Buffer.from('a found boat');
    const post = journal(job.jobId).post('images');
    const image = { fileName: 'lorabot-1.jpg', mimeType: 'image/jpeg', bytes };
    await deliverer.postImages(target, [image], post);
    const after = fake.messagesIn(fake.dmChannelId).slice(before);
    expect(after.map((m) => m.attachments.map((a) => a.filename))).toEqual([['lorabot-1.jpg']]);
    expect(after.some((m) => m.content === MOVED_TO_DM)).toBe(false);
  });

  it('posts in the DM once the token no longer works, and tells a refusal privately', async () => {
    const expired = await command(true);
    tokens.delete(`ref-${expired.id}`);
    const before = fake.messagesIn(fake.dmChannelId).length;
    await recovery.post(expired.origin, { ...view, jobId: 'intake-user-install-2' }, queued);
    expect(fake.messagesIn(fake.dmChannelId)).toHaveLength(before + 1);
    const refused = await command(true);
    await recovery.tell(refused.origin, 'Over budget.');
    const answers = fake.messages.filter((m) => m.interaction_id === refused.id);
    expect(answers.map((m) => [m.content, m.flags])).toEqual([['Over budget.', 64]]);
  });
});
