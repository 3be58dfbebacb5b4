import type { BlockAction, RespondFn } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { PostedStatus } from '../../app/chat-platform.js';
import type { Requester } from '../../core/budget.js';
import type { SlackOrigin } from '../../core/intake.js';
import type { GatewayState, JobStatus, JobView, SlackTarget } from '../../core/jobs.js';
import { assistantStatusText, setAssistantStatus } from './slack-assistant-status.js';
import { SlackPlatform, type SlackPrivateMessage } from './slack-platform.js';

/** Slack shows a thread's title in the assistant's history; a long request is cut to this many characters. */
const TITLE_LIMIT = 80;

/**
 * The inbound port in an assistant thread (Slack's AI app view, in the person's DM with lorabot): every status
 * message, result and answer goes into the thread, the thread's title names the request, and its loading status
 * follows the job (the worker keeps it current through `SlackTarget.assistant`).
 *
 * Private answers (a refusal, a confirmation, help) are ordinary messages in the thread: an assistant thread is
 * part of the DM between the person and lorabot, which nobody else can read, and an ephemeral message there
 * would vanish on reload.
 * @see https://docs.slack.dev/ai/developing-ai-apps
 */
export class SlackAssistantPlatform extends SlackPlatform {
  constructor(
    private readonly web: WebClient,
    requester: Requester,
    private readonly thread: { threadTs: string; respond?: RespondFn; triggerId?: string },
  ) {
    super(
      web,
      requester,
      {
        send: (message) =>
          postInThread(web, { channel: requester.channelId, threadTs: thread.threadTs }, message),
        ...(thread.respond ? { replace: replaceWith(thread.respond) } : {}),
      },
      thread.triggerId,
    );
  }

  /**
   * The status message goes into the assistant thread; a new request (not a follow-up) names the thread.
   * @see https://docs.slack.dev/reference/methods/assistant.threads.setTitle
   */
  override async postStatus(view: JobView, status: JobStatus, threadId?: string): Promise<PostedStatus> {
    const posted = await super.postStatus(view, status, threadId);
    const target = posted.target as SlackTarget;
    if (!threadId) {
      // Cosmetic: the request goes ahead under the thread's old title if Slack refuses it.
      await this.web.assistant.threads
        .setTitle({ channel_id: target.channelId, thread_ts: target.parentTs, title: threadTitle(view) })
        .catch(() => undefined);
    }
    // Set after the status message is posted: Slack clears the loading status when lorabot posts in the thread.
    await setAssistantStatus(this.web, target, assistantStatusText(view, status));
    return posted;
  }

  override statusOrigin(view: JobView, threadId?: string): SlackOrigin {
    return { ...super.statusOrigin(view, threadId ?? this.thread.threadTs), assistant: true };
  }
}

/**
 * A button pressed on a message in an assistant thread (a status message, a confirmation) is answered there too:
 * Regenerate's new job goes into the same thread. Undefined for a press anywhere else.
 */
export async function assistantPressPlatform(
  client: WebClient,
  requester: Requester,
  press: { body: BlockAction; respond: RespondFn; state: GatewayState },
): Promise<SlackAssistantPlatform | undefined> {
  const { body, respond, state } = press;
  const channelId = body.channel?.id ?? '';
  const threadTs = (body.message as { thread_ts?: string } | undefined)?.thread_ts;
  // Assistant threads live in the person's DM with lorabot (an `im`, whose ids start with D).
  if (!threadTs || !channelId.startsWith('D')) return undefined;
  const known = await state.isRequestThread('slack', `${channelId}:${threadTs}`).catch(() => false);
  if (!known) return undefined;
  return new SlackAssistantPlatform(client, requester, { threadTs, respond, triggerId: body.trigger_id });
}

/** The thread's title: the question, or what the image shows. */
export function threadTitle(view: Pick<JobView, 'kind' | 'command'>): string {
  const text = view.command.replace(/^\/(?:ask|flux)\s+/, '');
  const title = view.kind === 'flux' ? `Image: ${text}` : text;
  const chars = [...title];
  return chars.length <= TITLE_LIMIT ? title : `${chars.slice(0, TITLE_LIMIT - 1).join('')}…`;
}

/** @see https://docs.slack.dev/reference/methods/chat.postMessage */
async function postInThread(
  client: WebClient,
  where: { channel: string; threadTs: string },
  message: SlackPrivateMessage,
): Promise<void> {
  await client.chat.postMessage({
    channel: where.channel,
    thread_ts: where.threadTs,
    ...message,
    unfurl_links: false,
    unfurl_media: false,
  } as Parameters<WebClient['chat']['postMessage']>[0]);
}

/** A confirmation's Run or Cancel: the question is replaced with what happened, by the press's `response_url`. */
function replaceWith(respond: RespondFn) {
  return async (text: string) => {
    await respond({ replace_original: true, text });
  };
}
