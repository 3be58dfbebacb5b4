import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiscordDeliverer } from '../../src/adapters/discord/discord-deliverer.js';
import { ANSWER_FILE, ANSWER_FILE_NOTE } from '../../src/adapters/discord/discord-embeds.js';
import type { DiscordTarget, JobView } from '../../src/core/jobs.js';
import type { Logger } from '../../src/core/ports.js';
import { FakeDiscord } from '../contract/fakes/fake-discord.js';
import { answerPublicly, journal } from '../helpers/discord-status.js';

/**
 * Results shown on a job's status where only the interaction's webhook can post (a user install while its token
 * lives), through the real deliverer over HTTP to the fake Discord: images as attachments of the status, an answer
 * in its embeds (or as `answer.md` beyond Discord's limits), status updates that keep both, a step run again that
 * leaves the status as it was, and a notice the person's DMs refuse.
 */
const USER = '444444444444444444';
let discord: FakeDiscord;
let deliverer: DiscordDeliverer;
const logged: Array<{ level: string; obj: Record<string, unknown>; msg?: string | undefined }> = [];
const logger: Logger = {
  debug: (obj, msg) => logged.push({ level: 'debug', obj, msg }),
  info: (obj, msg) => logged.push({ level: 'info', obj, msg }),
  warn: (obj, msg) => logged.push({ level: 'warn', obj, msg }),
  error: (obj, msg) => logged.push({ level: 'error', obj, msg }),
};

beforeAll(async () => {
  discord = await new FakeDiscord().start();
  deliverer = new DiscordDeliverer({
    token: discord.token,
    apiUrl: discord.apiUrl,
    editIntervalMs: 0,
    logger,
  });
});

afterAll(async () => {
  await discord.close();
});

/** A user install's slash command answered with its public status, and the target of its job. */
async function userInstallJob(kind: 'flux' | 'ask') {
  const { id, token } = discord.sendCommand({
    name: kind,
    options: [],
    userId: USER,
    userInstall: { context: 2 },
  });
  const statusMessageId = await answerPublicly(discord, { id, token }, 'queued');
  const target: DiscordTarget = {
    platform: 'discord',
    workspaceId: '',
    channelId: 'user-install',
    userId: USER,
    statusMessageId,
    resultChannelId: discord.privateChannelId,
    interaction: { applicationId: discord.applicationId, token, expiresAt: Date.now() + 14 * 60_000 },
    attachmentLimit: 10 << 20,
    userInstall: true,
  };
  const view: JobView = { jobId: `job-${id}`, kind, command: `/${kind} something` };
  const status = () => discord.messages.find((m) => m.id === statusMessageId)!;
  return { id, token, target, view, status };
}

function image(fileName: string, bytes: number) {
  return { fileName, mimeType: 'image/png' as const, bytes: Buffer.alloc(bytes, fileName.length) };
}

describe('results on the status where only the webhook can post', () => {
  it('attaches the images in requests under 25 MiB, says which were too large, and keeps both through status updates and a second run', async () => {
    const job = await userInstallJob('flux');
    const images = [
      image('big-1.png', 9 << 20),
      image('big-2.png', 9 << 20),
      image('too-large.png', 11 << 20),
      image('big-3.png', 9 << 20),
    ];
    const { post } = journal(job.view.jobId);
    const patchesBefore = discord.calls.length;
    await deliverer.postImages(job.target, images, post('images'));
    const patches = discord.calls.slice(patchesBefore).filter((c) => c.method === 'PATCH');
    // 27 MiB of images: two requests, the second keeping the first's attachments by id.
    expect(patches.map((c) => c.files.map((f) => f.name))).toEqual([
      ['big-1.png', 'big-2.png'],
      ['big-3.png'],
    ]);
    expect(patches.map((c) => c.status)).toEqual([200, 200]);
    const names = () => job.status().attachments.map((a) => a.filename);
    expect(names()).toEqual(['big-1.png', 'big-2.png', 'big-3.png']);
    expect(job.status().embeds).toEqual([
      {
        description: 'Image 3 is 11.0 MiB, over the 10.0 MiB upload limit here, so it could not be attached.',
      },
    ]);
    await deliverer.updateStatus(job.target, job.view, { state: 'running' });
    // The same step run again (a worker killed before its journal): the status ends the same, each image once.
    await deliverer.postImages(job.target, images, post('images'));
    await deliverer.updateStatus(job.target, job.view, { state: 'done', costText: 'Cost: $0.105' });
    expect(names()).toEqual(['big-1.png', 'big-2.png', 'big-3.png']);
    expect(job.status().embeds).toHaveLength(1);
    expect(job.status().content).toContain('Cost: $0.105');
    expect(discord.messages.filter((m) => m.interaction_id === job.id)).toHaveLength(1);
    expect(discord.calls.slice(patchesBefore).flatMap((c) => c.schemaErrors)).toEqual([]);
  }, 30_000);

  it('streams an answer into an embed, then shows it whole; past 6,000 characters the whole of it is answer.md', async () => {
    const job = await userInstallJob('ask');
    const { steps, post } = journal(job.view.jobId);
    const opened = await deliverer.streaming!.open(job.target, post('answer:stream'));
    expect(opened).toBe(job.target.statusMessageId);
    await deliverer.streaming!.preview(
      job.target,
      opened,
      'It begins [here](https://evil.example) @everyone',
    );
    expect(job.status().embeds).toEqual([
      { description: 'It begins here (<https://evil.example>) @everyone ▍' },
    ]);
    const long = Array.from({ length: 80 }, (_, i) => `Paragraph ${i + 1}: ${'word '.repeat(18)}`).join(
      '\n\n',
    );
    expect(long.length).toBeGreaterThan(6000);
    await deliverer.postAnswer(job.target, long, steps, opened);
    const [embed] = job.status().embeds;
    expect(job.status().embeds).toHaveLength(1);
    expect(embed!.description!.startsWith('Paragraph 1: ')).toBe(true);
    expect(embed!.description!.endsWith(ANSWER_FILE_NOTE)).toBe(true);
    expect(embed!.description!.length).toBeLessThanOrEqual(4096);
    expect(job.status().attachments.map((a) => a.filename)).toEqual([ANSWER_FILE]);
    expect(job.status().attachments[0]!.bytes.toString('utf8')).toBe(long);
    await deliverer.updateStatus(job.target, job.view, { state: 'done', costText: 'Cost: $0.0001' });
    expect(job.status().attachments).toHaveLength(1);
    expect(job.status().embeds).toHaveLength(1);
    // Nothing pings: every edit said so, and the status is the interaction's only message.
    const edits = discord.calls.filter((c) => c.method === 'PATCH' && c.path.includes(`/${job.token}/`));
    expect(
      edits.every(
        (c) => JSON.stringify((c.body as Record<string, unknown>).allowed_mentions) === '{"parse":[]}',
      ),
    ).toBe(true);
    expect(discord.messages.filter((m) => m.interaction_id === job.id)).toHaveLength(1);
  }, 30_000);

  it('an answer up to 6,000 characters fills embeds of up to 4,096 each, with no file', async () => {
    const job = await userInstallJob('ask');
    const { steps } = journal(job.view.jobId);
    const answer = `${'a'.repeat(4000)}\n\n${'b'.repeat(1500)}`;
    await deliverer.postAnswer(job.target, answer, steps);
    expect(job.status().embeds.map((e) => e.description)).toEqual(['a'.repeat(4000), 'b'.repeat(1500)]);
    expect(job.status().attachments).toEqual([]);
    expect(discord.messages.filter((m) => m.interaction_id === job.id)).toHaveLength(1);
  });

  it('sends the notice by DM with its nonce; where the person takes no DMs, as a follow-up that mentions them, and says so at info', async () => {
    const job = await userInstallJob('flux');
    const { post } = journal(job.view.jobId);
    const dms = () => discord.messagesIn(discord.dmChannelId).length;
    const before = dms();
    const notice = { ok: true, kind: 'flux' as const, text: 'Cost: $0.035' };
    await deliverer.notify(job.target, notice, 'thread', post('notify'));
    await deliverer.notify(job.target, notice, 'thread', post('notify'));
    expect(dms()).toBe(before + 1);
    expect(discord.messagesIn(discord.dmChannelId).at(-1)!.content).toBe(
      `<@${USER}> Your image is ready. Cost: $0.035 (https://discord.com/channels/@me/${discord.privateChannelId}/${job.target.statusMessageId})`,
    );
    discord.inject(new RegExp(`^POST /channels/${discord.dmChannelId}/messages$`), { kind: 'cannot-dm' });
    const other = await userInstallJob('flux');
    await deliverer.notify(other.target, notice, 'thread', journal(other.view.jobId).post('notify'));
    expect(dms()).toBe(before + 1);
    expect(logged.filter((l) => l.level === 'info')).toEqual([
      { level: 'info', obj: { jobId: other.view.jobId, step: 'notify' }, msg: expect.any(String) },
    ]);
    expect(JSON.stringify(logged)).not.toContain('Your image is ready');
    // Still a new message that mentions them: the one follow-up on the interaction besides its status.
    const made = discord.messages.filter((m) => m.interaction_id === other.id);
    expect(made.map((m) => m.id === other.target.statusMessageId)).toEqual([true, false]);
    expect(made[1]!.content).toBe(`<@${USER}> Your image is ready. Cost: $0.035`);
    expect(made[1]!.flags & 64).toBe(0);
  });
});
