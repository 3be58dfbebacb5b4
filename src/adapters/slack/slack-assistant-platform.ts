import type { BlockAction, RespondFn } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { Requester } from '../../core/budget.js';
import type { SlackOrigin } from '../../core/intake.js';
import type { GatewayState, JobView } from '../../core/jobs.js';
import { SlackPlatform, type SlackPrivateMessage } from './slack-platform.js';

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
    web: WebClient,
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
   * The status message goes into the assistant thread; a new request (not a follow-up) names the thread, and the
   * thread's loading status follows the job (`postSlackStatus`, which a worker's recovery posts with too).
   */
  override statusOrigin(view: JobView, threadId?: string): SlackOrigin {
    const origin = super.statusOrigin(view, threadId ?? this.thread.threadTs);
    return { ...origin, assistant: true, ...(threadId ? {} : { namesThread: true }) };
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
