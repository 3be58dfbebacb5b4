import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobData, planCommand } from '../../src/app/command-plan.js';
import { parseCommand } from '../../src/core/command-parser.js';
import type { DeliveryTarget } from '../../src/core/jobs.js';
import type { FakeDiscord } from '../contract/fakes/fake-discord.js';
import { answerPublicly } from '../helpers/discord-status.js';
import { waitFor } from '../helpers/wait.js';
import { startWorkerProcess, stopWorkerProcess, workerOutput } from '../helpers/worker-process.js';
import { WorkerRig } from '../helpers/worker-rig.js';

/**
 * A worker killed (SIGKILL) in the instant after each step's platform call returned and before the journal recorded
 * the step, for every step of an image job and of a streamed answer, on Slack and on Discord (where the bot posts,
 * and where only the interaction's webhook can: a user install, a channel that refuses the bot): one job, restarted
 * after each kill, is cut after every step it has (test/helpers/crashing-worker.ts). Counted from the fakes'
 * recorded calls: every message and upload once.
 */
const rig = new WorkerRig();
const USER = '804861202740658196';

beforeAll(async () => {
  // A job stalls once per step here: BullMQ must not give up on it.
  await rig.start(['max_stalled_count: 10'], { worker: false, discord: true });
}, 60_000);

afterAll(async () => {
  await rig.close();
});

/** The steps a job of each kind records, each one a kill. */
const STEPS = {
  flux: ['status:running', 'images:files', 'images', 'notify', 'status:final', 'ended'],
  // Slack streams natively: the answer is stopped in its stream, nothing left to post below it.
  ask: [
    'status:running',
    'answer:stream',
    'answer:stream-stop',
    'conversation',
    'notify',
    'status:final',
    'ended',
  ],
  // Discord streams by editing one message, which the answer's step then finishes.
  askEdited: [
    'status:running',
    'answer:stream',
    'answer:1/1',
    'conversation',
    'notify',
    'status:final',
    'ended',
  ],
} as const;

async function enqueue(kind: 'flux' | 'ask', text: string, target: DeliveryTarget): Promise<string> {
  const parsed = parseCommand(kind, text, rig.config.core);
  if (!parsed.success || (parsed.data.kind !== 'flux' && parsed.data.kind !== 'ask'))
    throw new Error('bad command');
  const jobId = `crash-${randomUUID()}`;
  const data = jobData(parsed.data, planCommand(parsed.data, rig.config.core), target, Date.now());
  if (data.kind === 'ask') data.conversation = { key: `test:${jobId}`, aliases: [] };
  await rig.producer.enqueue(jobId, data);
  return jobId;
}

/**
 * Runs crashing workers, one after another, until the job completes; returns the steps the workers were killed
 * after, in order.
 */
async function runThroughCrashes(kind: 'flux' | 'ask', jobId: string): Promise<string[]> {
  const crashDir = mkdtempSync(join(tmpdir(), 'lorabot-crash-'));
  const queue = rig.producer.queueFor(kind);
  for (let run = 0; run < 20; run++) {
    const worker: ChildProcess = await startWorkerProcess(rig.env, { crashDir });
    let state = '';
    await waitFor(
      'the worker to die after a step, or the job to complete',
      async () => {
        state = await queue.getJobState(jobId);
        return worker.signalCode !== null || state === 'completed' || state === 'failed';
      },
      60_000,
    );
    if (worker.signalCode === null) {
      await stopWorkerProcess(worker, 'SIGTERM');
      expect(state, workerOutput(worker)).toBe('completed');
      break;
    }
  }
  const crashed = readdirSync(crashDir).map((name) => decodeURIComponent(name).split(' ').pop()!);
  return crashed.sort();
}

/** A parent message in a new Slack channel, and the target of a job that reports there. */
function slackThread(channel: string) {
  const parentTs = rig.slack.seedMessage(channel, 'parent');
  const target = {
    platform: 'slack' as const,
    workspaceId: rig.slack.teamId,
    channelId: channel,
    userId: 'U0CRASH',
  };
  return { channel, parentTs, target: { ...target, parentTs } };
}

/** A status message in the Discord channel, and the target of a job (from a mention: no interaction) there. */
function discordStatus() {
  const discord = rig.discord!;
  const statusMessageId = discord.seedMessage(discord.channelId, 'status');
  const where = { channelId: discord.channelId, resultChannelId: discord.channelId, statusMessageId };
  const target = { platform: 'discord' as const, workspaceId: discord.guildId, userId: USER, ...where };
  return { discord, statusMessageId, target: { ...target, attachmentLimit: 10 * 1024 * 1024 } };
}

/**
 * A slash command's status (a follow-up through its interaction's webhook, as the gateway posts it) and the target of
 * a job whose interaction token lives: its results go with the bot token, its status through the webhook.
 */
async function discordCommandStatus(name: 'flux' | 'ask') {
  const discord = rig.discord!;
  const { token } = discord.sendCommand({ name, options: [], userId: USER });
  const response = await fetch(`${discord.apiUrl}/v10/webhooks/${discord.applicationId}/${token}?wait=true`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ content: 'status', allowed_mentions: { parse: [] } }),
  });
  const statusMessageId = ((await response.json()) as { id: string }).id;
  const interaction = { applicationId: discord.applicationId, token, expiresAt: Date.now() + 14 * 60_000 };
  const where = { channelId: discord.channelId, resultChannelId: discord.channelId, statusMessageId };
  const target = { platform: 'discord' as const, workspaceId: discord.guildId, userId: USER, ...where };
  return { discord, token, statusMessageId, target: { ...target, interaction, attachmentLimit: 10 << 20 } };
}

/** Counts from the fake Discord for a job of a slash command: its replies, and the worker's posts by route. */
function commandPosts(discord: FakeDiscord, token: string, statusMessageId: string) {
  const replies = discord.messages.filter((m) => m.reply_to === statusMessageId);
  const posts = discord.calls.filter(
    (c) => c.method === 'POST' && c.path === `/channels/${discord.channelId}/messages` && c.status === 200,
  );
  const nonces = posts
    .filter(
      (c) =>
        (c.body as { message_reference?: { message_id: string } }).message_reference?.message_id ===
        statusMessageId,
    )
    .map((c) => (c.body as { nonce?: string }).nonce);
  // The status was the one follow-up: every result went by Create Message.
  const followUps = discord.calls.filter((c) => c.method === 'POST' && c.path.endsWith(`/${token}`));
  return { replies, nonces, followUps };
}

/**
 * A slash command where only its interaction's webhook can post, and the target of its job with the token alive: a
 * user install in a DM between people, or a server thread that refuses the bot token (403 Missing Permissions on
 * every Create Message there). Its status is the interaction's public response.
 */
async function webhookOnlyStatus(name: 'flux' | 'ask', where: 'user-install' | 'refused') {
  const discord = rig.discord!;
  const thread = where === 'refused' ? discord.openThread({ name: 'refuses the bot' }) : undefined;
  const { id, token } = discord.sendCommand({
    name,
    options: [],
    userId: USER,
    ...(thread ? { channelId: thread } : { userInstall: { context: 2 } }),
  });
  const statusMessageId = await answerPublicly(discord, { id, token }, 'status');
  if (thread) {
    // Every worker process tries the bot token once (the refusal is remembered in memory only).
    discord.inject(new RegExp(`^POST /channels/${thread}/messages$`), { kind: 'missing-permissions' }, 40);
  }
  const interaction = { applicationId: discord.applicationId, token, expiresAt: Date.now() + 14 * 60_000 };
  const target = {
    platform: 'discord' as const,
    workspaceId: thread ? discord.guildId : '',
    userId: USER,
    channelId: thread ?? 'user-install',
    resultChannelId: thread ?? discord.privateChannelId,
    statusMessageId,
    interaction,
    attachmentLimit: 10 << 20,
    ...(thread ? {} : { userInstall: true }),
  };
  return { discord, id, token, statusMessageId, thread, target, callsBefore: discord.calls.length };
}

/**
 * Counts from the fake Discord for a job where only the webhook can post: what answered the interaction (its
 * status alone), the follow-ups made through its token, and the DMs and their Create Message calls since it began.
 */
function webhookOnlyPosts(job: Awaited<ReturnType<typeof webhookOnlyStatus>>, dmsBefore: number) {
  const { discord, id, token, callsBefore } = job;
  const answers = discord.messages.filter((m) => m.interaction_id === id);
  const calls = discord.calls.slice(callsBefore);
  const followUps = calls.filter((c) => c.method === 'POST' && c.path.endsWith(`/${token}`));
  const dms = discord.messagesIn(discord.dmChannelId).slice(dmsBefore);
  const dmPosts = calls.filter(
    (c) => c.method === 'POST' && c.path === `/channels/${discord.dmChannelId}/messages`,
  );
  const dmNonces = dmPosts.map((c) => (c.body as { nonce?: string }).nonce);
  const status = discord.messages.find((m) => m.id === job.statusMessageId)!;
  return { answers, followUps, dms, dmNonces, status, calls };
}

async function charges(jobId: string): Promise<string[]> {
  const entries = await rig.ledger.entries(new Date().toISOString().slice(0, 7));
  return entries.filter((e) => e.jobId === jobId).map((e) => e.status);
}

describe('a worker killed after each platform call, before the journal', () => {
  it('Slack, an image job: one upload, one notice, one charge', async () => {
    const { channel, parentTs, target } = slackThread('C0STEPCRASH1');
    const jobId = await enqueue('flux', 'a crash-proof lighthouse --size 256x256', target);
    expect(await runThroughCrashes('flux', jobId)).toEqual([...STEPS.flux].sort());
    expect(rig.slack.files.filter((f) => f.thread_ts === parentTs)).toHaveLength(1);
    const thread = rig.slack.thread(channel, parentTs);
    expect(thread.filter((m) => m.text.includes('Your image is ready'))).toHaveLength(1);
    expect(thread).toHaveLength(1);
    expect(rig.slack.messages.find((m) => m.ts === parentTs)?.text).toContain('Done');
    // The retries of the upload (twice: after staging, after completing) and of the notice looked in the thread
    // before posting again; the first attempts did not.
    const lookups = rig.slack.callsTo('conversations.replies').filter((c) => c.args.ts === parentTs);
    expect(lookups).toHaveLength(3);
    const entries = (await rig.ledger.entries(new Date().toISOString().slice(0, 7))).filter(
      (e) => e.jobId === jobId,
    );
    expect(entries.map((e) => e.status)).toEqual(['charged']);
    expect(rig.slack.calls.flatMap((c) => c.schemaErrors)).toEqual([]);
  }, 600_000);

  it('Slack, a streamed answer: one answer message, one notice', async () => {
    const { channel, parentTs, target } = slackThread('C0STEPCRASH2');
    const jobId = await enqueue('ask', 'what survives a crash?', target);
    expect(await runThroughCrashes('ask', jobId)).toEqual([...STEPS.ask].sort());
    const thread = rig.slack.thread(channel, parentTs);
    expect(thread.filter((m) => m.text.includes('Your answer is ready'))).toHaveLength(1);
    // One stream, taken over by the retry that found it without its id in the journal, stopped once with the
    // whole answer and its footer: no second stream, and the answer not posted again below it.
    expect(thread).toHaveLength(2);
    const [answer] = thread;
    expect(answer!.streaming).toBe(false);
    expect(answer!.text).toContain('You asked: what survives a crash?');
    expect(JSON.stringify(answer!.blocks)).toContain('lorabot_feedback');
    const here = (method: string) => rig.slack.callsTo(method).filter((c) => c.args.channel === channel);
    expect(here('chat.startStream')).toHaveLength(1);
    expect(rig.slack.messages.find((m) => m.ts === parentTs)?.text).toContain('Done');
    expect(rig.slack.calls.flatMap((c) => c.schemaErrors)).toEqual([]);
  }, 600_000);

  it('Discord, an image job: one attachment message, one notice, the nonce returning what was posted', async () => {
    const { discord, statusMessageId, target } = discordStatus();
    const jobId = await enqueue('flux', 'a crash-proof harbour --size 256x256', target);
    const steps = await runThroughCrashes('flux', jobId);
    // Discord has no upload to stage: the image is one message, its nonce the whole step.
    expect(steps).toEqual(STEPS.flux.filter((s) => s !== 'images:files').sort());
    const after = discord.messages.filter(
      (m) => m.channel_id === discord.channelId && BigInt(m.id) > BigInt(statusMessageId),
    );
    expect(after.filter((m) => m.attachments.length > 0)).toHaveLength(1);
    expect(after.filter((m) => m.content.includes('Your image is ready'))).toHaveLength(1);
    expect(after).toHaveLength(2);
    expect(discord.messages.find((m) => m.id === statusMessageId)?.content).toContain('Done');
    const posts = discord.calls.filter(
      (c) => c.method === 'POST' && c.path === `/channels/${discord.channelId}/messages`,
    );
    // Each message was sent twice (before and after its kill) with one nonce, and made once.
    const nonces = posts.map((c) => (c.body as { nonce?: string }).nonce).filter((n) => n !== undefined);
    expect(nonces).toHaveLength(4);
    expect(new Set(nonces).size).toBe(2);
    expect(discord.calls.flatMap((c) => c.schemaErrors)).toEqual([]);
  }, 600_000);

  it('Discord, a streamed answer: one answer message, one notice', async () => {
    const { discord, statusMessageId, target } = discordStatus();
    const jobId = await enqueue('ask', 'what survives a crash on Discord?', target);
    expect(await runThroughCrashes('ask', jobId)).toEqual([...STEPS.askEdited].sort());
    const after = discord.messages.filter(
      (m) => m.channel_id === discord.channelId && BigInt(m.id) > BigInt(statusMessageId),
    );
    expect(after.filter((m) => m.content.includes('Your answer is ready'))).toHaveLength(1);
    expect(after).toHaveLength(2);
    expect(discord.messages.find((m) => m.id === statusMessageId)?.content).toContain('Done');
    expect(discord.calls.flatMap((c) => c.schemaErrors)).toEqual([]);
  }, 600_000);

  it('Discord, an image job of a slash command with its token alive: one gallery, one notice, one charge', async () => {
    const { discord, token, statusMessageId, target } = await discordCommandStatus('flux');
    const jobId = await enqueue('flux', 'a crash-proof lantern --size 256x256', target);
    expect(await runThroughCrashes('flux', jobId)).toEqual(
      STEPS.flux.filter((s) => s !== 'images:files').sort(),
    );
    const { replies, nonces, followUps } = commandPosts(discord, token, statusMessageId);
    expect(replies.filter((m) => m.attachments.length > 0)).toHaveLength(1);
    expect(replies.filter((m) => m.content.includes('Your image is ready'))).toHaveLength(1);
    expect(replies).toHaveLength(2);
    // Each message sent twice (before and after its kill) with one nonce, and made once.
    expect(nonces).toHaveLength(4);
    expect(new Set(nonces).size).toBe(2);
    expect(followUps).toHaveLength(1);
    const status = discord.messages.find((m) => m.id === statusMessageId)!;
    expect(status.content).toContain('Done');
    expect(status.via).toBe('webhook');
    const entries = (await rig.ledger.entries(new Date().toISOString().slice(0, 7))).filter(
      (e) => e.jobId === jobId,
    );
    expect(entries.map((e) => e.status)).toEqual(['charged']);
    expect(discord.calls.flatMap((c) => c.schemaErrors)).toEqual([]);
  }, 600_000);

  it('Discord, a streamed answer of a slash command with its token alive: one answer message, one notice', async () => {
    const { discord, token, statusMessageId, target } = await discordCommandStatus('ask');
    const jobId = await enqueue('ask', 'what survives a crash with a live token?', target);
    expect(await runThroughCrashes('ask', jobId)).toEqual([...STEPS.askEdited].sort());
    const { replies, nonces, followUps } = commandPosts(discord, token, statusMessageId);
    expect(replies.filter((m) => m.content.includes('Your answer is ready'))).toHaveLength(1);
    expect(replies.filter((m) => m.content.includes('You asked'))).toHaveLength(1);
    expect(replies).toHaveLength(2);
    // The answer's message (opened once, then finished by its edit) and the notice, each sent twice.
    expect(nonces).toHaveLength(4);
    expect(new Set(nonces).size).toBe(2);
    expect(followUps).toHaveLength(1);
    expect(discord.messages.find((m) => m.id === statusMessageId)?.content).toContain('Done');
    const entries = (await rig.ledger.entries(new Date().toISOString().slice(0, 7))).filter(
      (e) => e.jobId === jobId,
    );
    expect(entries.map((e) => e.status)).toEqual(['charged']);
    expect(discord.calls.flatMap((c) => c.schemaErrors)).toEqual([]);
  }, 600_000);
  for (const where of ['user-install', 'refused'] as const) {
    const place = where === 'user-install' ? 'a user install' : 'a channel that refuses the bot (403)';

    it(`Discord, an image job of a slash command in ${place}: the image on the status, one DM notice, one charge`, async () => {
      const job = await webhookOnlyStatus('flux', where);
      const dmsBefore = job.discord.messagesIn(job.discord.dmChannelId).length;
      const jobId = await enqueue('flux', `a crash-proof kite (${where}) --size 256x256`, job.target);
      expect(await runThroughCrashes('flux', jobId)).toEqual(
        STEPS.flux.filter((s) => s !== 'images:files').sort(),
      );
      const { answers, followUps, dms, dmNonces, status, calls } = webhookOnlyPosts(job, dmsBefore);
      // The status, edited through the webhook, is the only message of the interaction: the image is on it.
      expect(answers.map((m) => m.id)).toEqual([job.statusMessageId]);
      expect(status.attachments).toHaveLength(1);
      expect(status.attachments[0]!.filename).toMatch(/\.jpg$/);
      expect(status.content).toContain('Done');
      expect(status.via).toBe('webhook');
      expect(followUps).toEqual([]);
      // The notice once in the DM: sent twice (before and after its kill) with one nonce.
      expect(dms.map((m) => m.content)).toEqual([expect.stringContaining('Your image is ready')]);
      expect(dmNonces).toHaveLength(2);
      expect(new Set(dmNonces).size).toBe(1);
      if (job.thread) {
        expect(job.discord.messagesIn(job.thread).map((m) => m.id)).toEqual([job.statusMessageId]);
        const refused = calls.filter((c) => c.path === `/channels/${job.thread}/messages`);
        expect(refused.every((c) => c.status === 403)).toBe(true);
      }
      expect(await charges(jobId)).toEqual(['charged']);
      expect(job.discord.calls.flatMap((c) => c.schemaErrors)).toEqual([]);
    }, 600_000);

    it(`Discord, a streamed answer of a slash command in ${place}: the answer in the status's embed, one DM notice`, async () => {
      const job = await webhookOnlyStatus('ask', where);
      const dmsBefore = job.discord.messagesIn(job.discord.dmChannelId).length;
      const question = `what survives a crash (${where})?`;
      const jobId = await enqueue('ask', question, job.target);
      expect(await runThroughCrashes('ask', jobId)).toEqual([...STEPS.askEdited].sort());
      const { answers, followUps, dms, dmNonces, status } = webhookOnlyPosts(job, dmsBefore);
      expect(answers.map((m) => m.id)).toEqual([job.statusMessageId]);
      expect(status.embeds).toEqual([{ description: expect.stringContaining(`You asked: ${question}`) }]);
      expect(status.attachments).toEqual([]);
      expect(status.content).toContain('Done');
      expect(followUps).toEqual([]);
      expect(dms.map((m) => m.content)).toEqual([expect.stringContaining('Your answer is ready')]);
      expect(new Set(dmNonces).size).toBe(1);
      expect(await charges(jobId)).toEqual(['charged']);
      expect(job.discord.calls.flatMap((c) => c.schemaErrors)).toEqual([]);
    }, 600_000);
  }
});
