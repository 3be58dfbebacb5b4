import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { postSlackStatus, SlackStatusRecovery } from '../../src/adapters/slack/slack-status.js';
import type { SlackOrigin } from '../../src/core/intake.js';
import type { JobStatus, JobView } from '../../src/core/jobs.js';
import { FakeSlack } from './fakes/fake-slack.js';

/**
 * A worker's recovery of a Slack request whose gateway stopped before queueing it, against the fake Slack: how it
 * looks for the status message the gateway may have posted, and what it posts when there is none.
 */
let slack: FakeSlack;
let client: WebClient;
const QUEUED: JobStatus = { state: 'queued', position: 1 };
/** The recovery reads a channel from this long before the claim (Slack's clock may differ from the gateway's). */
const MARGIN_MS = 5 * 60_000;

function view(jobId: string): JobView {
  return { jobId, kind: 'flux', command: '/flux a lighthouse at dusk' };
}

function origin(channelId: string): SlackOrigin {
  return { platform: 'slack', workspaceId: slack.teamId, channelId, userId: 'U0ASKER' };
}

/** What each `conversations.history` call asked: from when, how many, a next page or the first. */
function historyReads() {
  const reads = slack.callsTo('conversations.history');
  expect(reads.flatMap((r) => r.schemaErrors)).toEqual([]);
  expect(reads.map((r) => r.outcome).every((o) => o === 'ok')).toBe(true);
  return reads.map((r) => [
    r.args.oldest,
    r.args.include_all_metadata,
    r.args.limit,
    r.args.cursor !== undefined,
  ]);
}

beforeAll(async () => {
  slack = await new FakeSlack().start();
  client = new WebClient(slack.botToken, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
});

afterAll(async () => {
  await slack.close();
});

beforeEach(() => {
  slack.calls.length = 0;
});

/**
 * A channel where a request was claimed 2 s ago: `earlier` messages from an hour before the claim, then the status
 * of job `status` (when a gateway posted one), then `after` messages.
 */
async function channelWith(channel: string, parts: { earlier: number; status?: string; after: number }) {
  const claimedAt = Date.now() - 2_000;
  for (let i = 0; i < parts.earlier; i++)
    slack.seedMessage(channel, `earlier ${i}`, undefined, claimedAt - 3_600_000 + i);
  const posted = parts.status
    ? await postSlackStatus(client, origin(channel), view(parts.status), QUEUED)
    : undefined;
  for (let i = 0; i < parts.after; i++) slack.seedMessage(channel, `talk ${i}`);
  slack.calls.length = 0;
  return { claimedAt, posted };
}

/** A worker's recovery of job `jobId`, claimed at `claimedAt`, in `channel`. */
function recover(channel: string, jobId: string, claimedAt: number) {
  return new SlackStatusRecovery(client).post(origin(channel), view(jobId), QUEUED, claimedAt);
}

describe("a worker's recovery of a Slack request finds the status its gateway posted", () => {
  it('in a busy channel: every message since the claim is read, newest first, page by page, and none older', async () => {
    // An hour of talk before the claim, which the lookup never reads; 450 messages after the status before the
    // worker looks: the status is the 451st newest.
    const { claimedAt, posted } = await channelWith('C0BUSY', {
      earlier: 600,
      status: 'job-busy',
      after: 450,
    });
    expect(await recover('C0BUSY', 'job-busy', claimedAt)).toEqual(posted);
    expect(slack.callsTo('chat.postMessage')).toHaveLength(0);
    const oldest = ((claimedAt - MARGIN_MS) / 1000).toFixed(6);
    expect(historyReads()).toEqual([
      [oldest, 'true', '200', false],
      [oldest, 'true', '200', true],
      [oldest, 'true', '200', true],
    ]);
  });

  it('stops at the page that holds the status', async () => {
    const { claimedAt, posted } = await channelWith('C0QUIET', {
      earlier: 250,
      status: 'job-quiet',
      after: 3,
    });
    expect(await recover('C0QUIET', 'job-quiet', claimedAt)).toEqual(posted);
    expect(historyReads()).toHaveLength(1);
  });

  it('posts the status, with its metadata, when the gateway had not: after reading only what came since the claim', async () => {
    // Another job's status since the claim is not this one's.
    const { claimedAt } = await channelWith('C0NOSTATUS', { earlier: 500, status: 'job-other', after: 250 });
    const posted = await recover('C0NOSTATUS', 'job-none', claimedAt);
    expect(historyReads()).toHaveLength(2);
    expect(slack.callsTo('chat.postMessage')).toHaveLength(1);
    const status = slack.messages.at(-1)!;
    expect(status.metadata).toEqual({
      event_type: 'lorabot_step',
      event_payload: { job: 'job-none', step: 'status:posted' },
    });
    expect(posted.target).toMatchObject({ channelId: 'C0NOSTATUS', parentTs: status.ts });
  });
});

describe("a worker's recovery of a request in an assistant thread", () => {
  /** A thread the person opened, and the origin of a request in it (a new one, or a follow-up). */
  function assistantThread(followUp = false) {
    const { thread } = slack.openAssistantThread({ userId: 'U0ASKER' });
    const at: SlackOrigin = {
      ...origin(thread.channel),
      threadTs: thread.threadTs,
      assistant: true,
      ...(followUp ? {} : { namesThread: true }),
    };
    return { thread, at };
  }

  const ASK: JobView = { jobId: 'job-titled', kind: 'ask', command: '/ask why is the sea salty?' };

  it('names the thread after a new request, as its gateway would have, and shows the job in its loading status', async () => {
    const { thread, at } = assistantThread();
    const posted = await new SlackStatusRecovery(client).post(at, ASK, QUEUED, Date.now() - 2_000);
    expect(posted.target).toMatchObject({ parentTs: thread.threadTs, assistant: true });
    expect(thread.title).toBe('why is the sea salty?');
    expect(thread.statuses).toEqual(['in queue, position 1']);
    const calls = [
      ...slack.callsTo('assistant.threads.setTitle'),
      ...slack.callsTo('assistant.threads.setStatus'),
    ];
    expect(calls.flatMap((c) => c.schemaErrors)).toEqual([]);
  });

  it('names it when the gateway posted the status and stopped before naming it', async () => {
    const { thread, at } = assistantThread();
    // The gateway's status message, as it posts it, in the instant before it was killed.
    const { namesThread: _, ...unnamed } = at;
    const gateway = await postSlackStatus(client, unnamed, { ...ASK, jobId: 'job-named-late' }, QUEUED);
    expect(thread.title).toBeUndefined();
    const recovery = new SlackStatusRecovery(client);
    const found = await recovery.post(at, { ...ASK, jobId: 'job-named-late' }, QUEUED, Date.now() - 2_000);
    expect(found).toEqual(gateway);
    expect(slack.callsTo('chat.postMessage')).toHaveLength(1);
    expect(thread.title).toBe('why is the sea salty?');
  });

  it('leaves the title of a thread alone for a follow-up in it', async () => {
    const { thread, at } = assistantThread(true);
    await new SlackStatusRecovery(client).post(at, { ...ASK, jobId: 'job-follow-up' }, QUEUED, Date.now());
    expect(thread.title).toBeUndefined();
    expect(slack.callsTo('assistant.threads.setTitle')).toHaveLength(0);
  });
});
