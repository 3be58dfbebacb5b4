import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECOVER_AFTER_MS } from '../../src/core/intake.js';
import type { LedgerEntry } from '../../src/queue/ledger.js';
import { RedisKeys } from '../../src/queue/redis-keys.js';
import { signSlackRequest } from '../contract/fakes/fake-slack.js';
import { spawnTsx } from '../helpers/tsx-process.js';
import { waitFor } from '../helpers/wait.js';
import { startWorkerProcess, stopWorkerProcess, workerOutput } from '../helpers/worker-process.js';
import { WorkerRig } from '../helpers/worker-rig.js';

/**
 * A gateway killed (SIGKILL) at each point between claiming a request and clearing its intake record (after the
 * claim, after admission, after the status post, after the enqueue), on Slack (`/flux`) and Discord (a mention, a
 * slash command in a server that installed the bot, and one through a person's own install):
 * a real `lorabot gateway` process with the crash hook of test/helpers/crashing-gateway.ts, then a real
 * `lorabot worker`, whose recovery sweep finishes each launch. Counted from the fakes and the ledger.
 */
const rig = new WorkerRig();
const POINTS = ['claimed', 'admitted', 'posted', 'queued'] as const;
const SECRET = 'intake-crash-signing-secret';
const USER = '804861202740658196';
/** Slash commands come from another person: each person may have 5 jobs waiting (`queue.per_person_max_jobs`). */
const SLASH_USER = '804861202740658197';
/** And user-install commands from a third. */
const INSTALL_USER = '804861202740658198';

beforeAll(async () => {
  await rig.start([], { worker: false, discord: true });
  rig.env = { ...rig.env, SLACK_SIGNING_SECRET: SECRET, PORT: '0', HOST: '127.0.0.1' };
}, 60_000);

afterAll(async () => {
  await rig.close();
});

/** A gateway process that kills itself at `crashAt` (`never`: a gateway that does not); returns it and its URL. */
async function startGateway(
  crashAt: string,
): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const { child, output } = spawnTsx('test/helpers/crashing-gateway.ts', [], {
    ...rig.env,
    LORABOT_TEST_CRASH_AT: crashAt,
  });
  const url = await waitFor(
    'the gateway to take requests',
    () => {
      if (child.exitCode !== null) throw new Error(`gateway exited: ${output()}`);
      return /test gateway ready (\S+)/.exec(output())?.[1];
    },
    60_000,
  );
  return { child, url, output };
}

/** A signed `/flux` slash command to a gateway; a gateway killed while answering it answers nothing. */
async function slash(url: string, body: string): Promise<void> {
  await fetch(`${url}/slack/events`, {
    method: 'POST',
    headers: signSlackRequest(SECRET, body, Math.floor(Date.now() / 1000)),
    body,
  })
    .then((response) => response.text())
    .catch(() => undefined);
}

function slashBody(channel: string, triggerId: string): string {
  return new URLSearchParams({
    token: 'deprecated-verification-token',
    team_id: rig.slack.teamId,
    team_domain: 'lorabot-test',
    channel_id: channel,
    channel_name: 'crash',
    user_id: 'U0INTAKE',
    user_name: 'intake',
    command: '/flux',
    text: `a gateway that died at ${channel} --size 256x256`,
    response_url: rig.slack.newResponseUrl(),
    trigger_id: triggerId,
    api_app_id: 'A0LORABOT',
  }).toString();
}

/** One request per platform and point: what was sent, and where to look. */
interface Case {
  platform: 'slack' | 'discord' | 'discord-slash' | 'discord-user-install';
  point: (typeof POINTS)[number];
  /** The platform's id of the request. */
  requestId: string;
  /** The request's key (the job id), as the gateway said when it was killed. */
  requestKey: string;
  /** Sends the same request again (a platform's redelivery) to a gateway at `url`. */
  again(url: string): Promise<void>;
  /** The status messages the request has (bot messages that say what was ran). */
  statuses(): Array<{ id: string; text: string }>;
  /** Messages with its image, and its completion notices. */
  images(statusId: string): number;
  notices(statusId: string): number;
}

function slackCase(point: Case['point'], url: string): Promise<Case> {
  const channel = `C0INTAKE${point.toUpperCase()}`;
  const triggerId = `${Date.now()}.${randomUUID().slice(0, 8)}`;
  const body = slashBody(channel, triggerId);
  const statuses = () =>
    rig.slack.messages
      .filter((m) => m.channel === channel && !m.thread_ts && m.text.includes('ran'))
      .map((m) => ({ id: m.ts, text: m.text }));
  const made: Case = {
    platform: 'slack',
    point,
    requestId: triggerId,
    requestKey: '',
    again: (at) => slash(at, body),
    statuses,
    images: (ts) => rig.slack.files.filter((f) => f.thread_ts === ts).length,
    notices: (ts) =>
      rig.slack.thread(channel, ts).filter((m) => m.text.includes('Your image is ready')).length,
  };
  return slash(url, body).then(() => made);
}

function discordCase(point: Case['point']): Case {
  const discord = rig.discord!;
  const content = `<@${discord.botId}> flux a gateway that died at ${point} --size 256x256`;
  const id = discord.sendMessage({ content, mention: true, userId: USER });
  const statuses = () =>
    discord.messages
      .filter(
        (m) => m.content.includes('ran `/flux') && m.content.includes(`a gateway that died at ${point} `),
      )
      .map((m) => ({ id: m.id, text: m.content }));
  return {
    platform: 'discord',
    point,
    requestId: id,
    requestKey: '',
    again: async () => {
      discord.sendMessage({ content, mention: true, userId: USER, id });
    },
    statuses,
    images: (statusId) => discord.messagesIn(statusId).filter((m) => m.attachments.length > 0).length,
    notices: (statusId) =>
      discord.messagesIn(statusId).filter((m) => m.content.includes('Your image is ready')).length,
  };
}

/**
 * `/flux` as a Discord application command. In a server that installed the bot it is deferred privately at once;
 * its public status is a follow-up, which the worker's recovery finds among the channel's messages by the
 * interaction's id, or posts as the gateway does. Through a person's own install (a DM between people, where the
 * bot can read nothing) it is deferred publicly and its status is that response, which the recovery edits: Discord
 * makes one response per interaction, so there is never a second status.
 */
function discordSlashCase(point: Case['point'], userInstall: boolean): Case {
  const discord = rig.discord!;
  const userId = userInstall ? INSTALL_USER : SLASH_USER;
  const where = userInstall ? 'a user install' : 'a slash command';
  const options = [
    { name: 'prompt', type: 3, value: `${where} whose gateway died at ${point}` },
    { name: 'size', type: 3, value: '256x256' },
  ];
  const origin = userInstall ? { userInstall: { context: 2 as const } } : {};
  const sent = discord.sendCommand({ name: 'flux', userId, options, ...origin });
  // The interaction's own messages (its status, and a user install's results) and the bot's replies to them.
  const answers = () => discord.answersTo(sent.id);
  return {
    platform: userInstall ? 'discord-user-install' : 'discord-slash',
    point,
    requestId: sent.id,
    requestKey: '',
    again: async () => {
      discord.sendCommand({ name: 'flux', userId, options, id: sent.id, token: sent.token, ...origin });
    },
    statuses: () =>
      answers()
        // Public: a status everyone in the channel sees.
        .filter((m) => m.content.includes('ran `/flux') && (m.flags & 64) === 0)
        .map((m) => ({ id: m.id, text: m.content })),
    images: () => answers().filter((m) => m.attachments.length > 0).length,
    // A user install's completion ping is a DM from lorabot, with a link to the status it is about.
    notices: (statusId) =>
      (userInstall ? discord.messagesIn(discord.dmChannelId) : answers()).filter(
        (m) =>
          m.content.includes('Your image is ready') && (!userInstall || m.content.includes(`/${statusId}`)),
      ).length,
  };
}

/** A gateway for one case, killed at its point by the request the case sends. */
async function killedAt(platform: Case['platform'], point: Case['point']): Promise<Case> {
  const gateway = await startGateway(point);
  const made =
    platform === 'slack'
      ? await slackCase(point, gateway.url)
      : platform === 'discord'
        ? discordCase(point)
        : discordSlashCase(point, platform === 'discord-user-install');
  await waitFor(`the gateway to die at ${point}`, () => gateway.child.signalCode === 'SIGKILL', 30_000).catch(
    (error: Error) => {
      gateway.child.kill('SIGKILL');
      throw new Error(`${platform}: ${error.message}\n${gateway.output()}`);
    },
  );
  const killed = new RegExp(`test gateway killed at ${point}: (\\S+)`).exec(gateway.output());
  expect(killed?.[1], gateway.output()).toContain(made.requestId);
  made.requestKey = killed![1]!;
  return made;
}

async function entriesOf(jobId: string): Promise<LedgerEntry[]> {
  const entries = await rig.ledger.entries(new Date().toISOString().slice(0, 7));
  return entries.filter((e) => e.jobId === jobId);
}

describe('a gateway killed between the claim and the queue', () => {
  it('loses no request: the worker posts (or finds) the status, queues the job, and delivers it once', async () => {
    const cases: Case[] = [];
    for (const point of POINTS) {
      cases.push(await killedAt('slack', point));
      cases.push(await killedAt('discord', point));
      cases.push(await killedAt('discord-slash', point));
      cases.push(await killedAt('discord-user-install', point));
    }
    const keys = new RedisKeys(rig.prefix);
    const left = await rig.connection.zrange(keys.intakeIndex(), 0, -1);
    expect(left.sort()).toEqual(cases.map((c) => c.requestKey).sort());
    const started = Date.now();
    const worker = await startWorkerProcess(rig.env);
    try {
      for (const made of cases) {
        const queue = rig.producer.queueFor('flux');
        await waitFor(
          `the ${made.platform} job killed at ${made.point} to complete`,
          async () => (await queue.getJobState(made.requestKey)) === 'completed',
          RECOVER_AFTER_MS + 120_000,
        );
      }
      // The records of jobs the gateway had queued are cleared by the sweep too, once they are due.
      await waitFor(
        'every intake record cleared',
        async () => (await rig.connection.zcard(keys.intakeIndex())) === 0,
        RECOVER_AFTER_MS + 30_000,
      );
      const recovered = Date.now() - started;
      // A platform's redelivery after the recovery is still a duplicate: no second status, job or charge.
      const gateway = await startGateway('never');
      for (const made of cases) await made.again(gateway.url);
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      await stopWorkerProcess(gateway.child, 'SIGTERM');
      // An interaction is answered once: Discord refuses a second deferral of it, before any claim is tried.
      const claimed = cases.filter((made) => !made.platform.startsWith('discord-'));
      expect(gateway.output().match(/duplicate request ignored/g)).toHaveLength(claimed.length);
      for (const made of cases) {
        const label = `${made.platform} killed at ${made.point}`;
        const statuses = made.statuses();
        expect(statuses, label).toHaveLength(1);
        expect(statuses[0]!.text, label).toContain('Done');
        // A user install's status is its interaction's one response, made by the gateway or the recovery.
        if (made.platform === 'discord-user-install')
          expect(statuses[0]!.id, label).toBe(rig.discord!.interaction(made.requestId)?.originalId);
        expect(made.images(statuses[0]!.id), label).toBe(1);
        expect(made.notices(statuses[0]!.id), label).toBe(1);
        expect(
          (await entriesOf(made.requestKey)).map((e) => e.status),
          label,
        ).toEqual(['charged']);
      }
      expect(rig.slack.calls.flatMap((c) => c.schemaErrors)).toEqual([]);
      expect(rig.discord!.calls.flatMap((c) => c.schemaErrors)).toEqual([]);
      // The worker looked for a Slack status before posting one: in the 3 channels where it had to post (or find).
      const lookups = rig.slack.callsTo('conversations.history');
      expect(lookups.map((c) => c.args.channel).sort()).toEqual(
        ['C0INTAKECLAIMED', 'C0INTAKEADMITTED', 'C0INTAKEPOSTED'].sort(),
      );
      // Discord replies with the status nonce: the gateway's (killed after it, and at the enqueue) and the worker's.
      const replies = rig.discord!.calls.filter(
        (c) =>
          c.method === 'POST' && (c.body as { enforce_nonce?: boolean } | undefined)?.enforce_nonce === true,
      );
      const threadRefusals = rig.discord!.calls.filter(
        (c) => c.path.endsWith('/threads') && c.status === 400,
      );
      console.info(
        `intake-crash: ${cases.length} requests recovered ${recovered} ms after the worker started; ` +
          `Slack status lookups ${lookups.length}; Discord Create Message calls with a nonce ${replies.length} ` +
          `(statuses and results), threads refused as made already ${threadRefusals.length}`,
      );
    } finally {
      await stopWorkerProcess(worker, 'SIGTERM');
      if (worker.exitCode !== 0) console.info(workerOutput(worker));
    }
  }, 600_000);
});
