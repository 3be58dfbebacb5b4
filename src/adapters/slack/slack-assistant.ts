import { Assistant } from '@slack/bolt';
import type { InboundInput } from '../../app/chat-platform.js';
import { InboundService } from '../../app/inbound-service.js';
import type { Place } from '../../core/access.js';
import { SlackAssistantPlatform } from './slack-assistant-platform.js';
import { ASSISTANT_GREETING, suggestedPrompts } from './slack-assistant-prompts.js';
import {
  ephemeralPlatform,
  findThreadConversation,
  type SlackCommandDeps,
  type SlackEnvelope,
  type SlackMessageEvent,
  type WrittenMessage,
  writtenMessage,
} from './slack-commands.js';

/**
 * An assistant thread is known for this long after it opens: a message in it is a request, even with no
 * conversation yet. Afterwards a message there is answered only when it continues a conversation.
 */
const ASSISTANT_THREAD_TTL_SECONDS = 90 * 86_400;

/** `draw …` or `flux …` (a slash typed out of habit is fine): an image request in the `/flux` grammar. */
const IMAGE_WORD = /^\/?(?:draw|flux)(?:\s+|$)/i;
/** `ask …` typed out: the same as the bare question. */
const ASK_WORD = /^\/?ask(?:\s+|$)/i;

/**
 * Slack's AI app surface (the assistant split view, paid plans): a new thread gets a greeting and the team's
 * presets as suggested prompts; a message in it is an `/ask` (or a `/flux` when it starts with `draw` or `flux`),
 * continues the thread's conversation once there is one, and goes through the one inbound service like a slash
 * command, so access rules, budgets and confirmations are those of everywhere else. Slash commands do not work
 * in assistant threads; the suggested prompts and the result buttons stand in for them.
 *
 * Bolt's `Assistant` takes every threaded message in a DM with lorabot: a reply in an ordinary DM thread (a
 * workspace without the AI app view) is answered as a thread reply elsewhere is: only when it continues a
 * conversation.
 * @see https://docs.slack.dev/ai/developing-ai-apps
 * @see https://docs.slack.dev/tools/bolt-js/concepts/ai-apps
 */
export function createSlackAssistant(deps: SlackCommandDeps): Assistant {
  const service = new InboundService(deps);
  return new Assistant({
    /** @see https://docs.slack.dev/reference/events/assistant_thread_started */
    threadStarted: async ({ event, client, context }) => {
      const { channel_id: channelId, thread_ts: threadTs } = event.assistant_thread;
      await deps.state.openRequestThread('slack', `${channelId}:${threadTs}`, ASSISTANT_THREAD_TTL_SECONDS);
      await client.chat.postMessage({ channel: channelId, thread_ts: threadTs, text: ASSISTANT_GREETING });
      const place: Place = { platform: 'slack', workspaceId: context.teamId ?? '', channelId };
      await client.assistant.threads.setSuggestedPrompts({
        channel_id: channelId,
        thread_ts: threadTs,
        title: 'Try one of the team’s presets',
        prompts: suggestedPrompts(deps.settings, place),
      });
    },
    // Answers go to the DM whichever channel the person is looking at, so the context is not kept.
    threadContextChanged: async () => {},
    userMessage: async ({ message, body, client }) => {
      const written = message as SlackMessageEvent;
      if (written.bot_id || !written.user || !written.thread_ts || written.thread_ts === written.ts) return;
      const translated = writtenMessage(written, body as SlackEnvelope, deps);
      if (!translated) return;
      const threadTs = written.thread_ts;
      let assistant: boolean;
      let conversationKey: string | undefined;
      try {
        [assistant, conversationKey] = await Promise.all([
          deps.state.isRequestThread('slack', `${written.channel}:${threadTs}`),
          findThreadConversation(service, written, body as SlackEnvelope),
        ]);
      } catch (error) {
        deps.logger.warn({ err: String(error) }, 'could not look up a thread; the message is not answered');
        return;
      }
      const input = requestIn(translated, { threadTs, assistant, conversationKey });
      if (!input) return;
      const { requester, place, requestId, receivedAt } = translated;
      const platform = assistant
        ? new SlackAssistantPlatform(client, requester, { threadTs })
        : ephemeralPlatform(client, requester, threadTs);
      const entry = assistant ? 'assistant' : 'thread';
      await service.handle({ requester, place, requestId, receivedAt, entry, input }, platform);
    },
  });
}

/**
 * What a message in a DM thread asks: in an assistant thread, an image request when it starts with `draw` or
 * `flux`, else a follow-up when the thread holds a conversation, else a new question; in any other thread, only a
 * follow-up.
 */
function requestIn(
  message: WrittenMessage,
  thread: { threadTs: string; assistant: boolean; conversationKey: string | undefined },
): InboundInput | undefined {
  const { question, images } = message;
  const attached = images.length > 0 ? { images } : {};
  const image = thread.assistant ? IMAGE_WORD.exec(question) : null;
  if (image) return { type: 'command', kind: 'flux', text: question.slice(image[0].length) };
  const asked = question.replace(ASK_WORD, '');
  if (thread.conversationKey) {
    const { conversationKey, threadTs: threadId } = thread;
    return { type: 'follow-up', conversationKey, threadId, question: asked, ...attached };
  }
  if (!thread.assistant) return undefined;
  return { type: 'command', kind: 'ask', text: asked, ...attached };
}
