import type { ChatPostMessageArguments, WebClient } from '@slack/web-api';
import {
  type PostedStatus,
  type SlackOrigin,
  STATUS_STEP,
  type StatusOrigin,
  type StatusRecovery,
} from '../../core/intake.js';
import type { JobStatus, JobView, SlackTarget } from '../../core/jobs.js';
import { statusInAssistantThread } from './slack-assistant-status.js';
import { parentMessage } from './slack-format.js';
import { STEP_EVENT } from './slack-step-posts.js';
import { escapeSlackText } from './slack-text.js';
import { SlackThreadReader } from './slack-thread.js';

/**
 * Posts a job's status message, with metadata naming its job (`event_type: lorabot_step`), so that a worker
 * recovering the job after its gateway stopped finds it instead of posting a second.
 * @see https://docs.slack.dev/reference/methods/chat.postMessage
 * @see https://docs.slack.dev/messaging/message-metadata
 */
export async function postSlackStatus(
  client: WebClient,
  origin: SlackOrigin,
  view: JobView,
  status: JobStatus,
): Promise<PostedStatus> {
  const posted = await client.chat.postMessage({
    channel: origin.channelId,
    ...(origin.threadTs ? { thread_ts: origin.threadTs } : {}),
    ...parentMessage(origin.userId, view, status),
    metadata: { event_type: STEP_EVENT, event_payload: { job: view.jobId, step: STATUS_STEP } },
    unfurl_links: false,
    unfurl_media: false,
  } as ChatPostMessageArguments);
  await statusInAssistantThread(client, origin, { view, status });
  return slackPosted(origin, String(posted.ts));
}

/** Where a status message posted at `origin` sends its job's status and results, and its conversation. */
function slackPosted(origin: SlackOrigin, statusTs: string): PostedStatus {
  const { channelId, userId, workspaceId, threadTs } = origin;
  const parentTs = threadTs ?? statusTs;
  const target: SlackTarget = {
    platform: 'slack',
    workspaceId,
    channelId,
    userId,
    parentTs,
    ...(threadTs ? { statusTs } : {}),
    ...(origin.assistant ? { assistant: true } : {}),
  };
  // Keyed by channel and thread, not by team: a Slack Connect partner's reply finds the same conversation.
  return { target, conversationKey: slackConversationKey(channelId, parentTs), aliases: [] };
}

/** The conversation an `/ask` thread holds: by channel and thread (Slack channel ids are shared across orgs). */
export function slackConversationKey(channelId: string, threadTs: string): string {
  return `slack:${channelId}:${threadTs}`;
}

/**
 * How much earlier than the claim a channel is read from: the status was posted after the claim, but by Slack's
 * clock, which may differ from the gateway's.
 */
const CLOCK_MARGIN_MS = 5 * 60_000;

/**
 * A worker's recovery of a job whose gateway stopped before queueing it: the status message the gateway may have
 * posted is looked for first by its metadata (in the thread, or among the channel's messages since the claim,
 * however many), and posted only when it is not there.
 */
export class SlackStatusRecovery implements StatusRecovery {
  private readonly thread: SlackThreadReader;

  constructor(private readonly client: WebClient) {
    this.thread = new SlackThreadReader(client);
  }

  async post(
    origin: StatusOrigin,
    view: JobView,
    status: JobStatus,
    claimedAt: number,
  ): Promise<PostedStatus> {
    if (origin.platform !== 'slack') throw new Error(`not a Slack origin: ${origin.platform}`);
    const place = { channel: origin.channelId, ...(origin.threadTs ? { thread_ts: origin.threadTs } : {}) };
    const found = await this.thread.findSince(place, claimedAt - CLOCK_MARGIN_MS, (message) => {
      const payload = message.metadata?.event_payload;
      return (
        message.metadata?.event_type === STEP_EVENT &&
        payload?.job === view.jobId &&
        payload?.step === STATUS_STEP
      );
    });
    if (!found?.ts) return postSlackStatus(this.client, origin, view, status);
    // The gateway may have stopped before it named the thread.
    await statusInAssistantThread(this.client, origin, { view, status });
    return slackPosted(origin, found.ts);
  }

  /** @see https://docs.slack.dev/reference/methods/chat.postEphemeral */
  async tell(origin: StatusOrigin, text: string): Promise<void> {
    if (origin.platform !== 'slack') return;
    await this.client.chat
      .postEphemeral({
        channel: origin.channelId,
        user: origin.userId,
        text: escapeSlackText(text),
        ...(origin.threadTs ? { thread_ts: origin.threadTs } : {}),
      })
      .catch(() => undefined);
  }
}
