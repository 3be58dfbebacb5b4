import type { App, BlockAction, ButtonAction, RespondFn, SlashCommand, ViewSubmitAction } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { InboundEvent, PressAction } from '../../app/chat-platform.js';
import { InboundService } from '../../app/inbound-service.js';
import type { InboundDeps } from '../../app/intake.js';
import type { Place } from '../../core/access.js';
import type { Requester } from '../../core/budget.js';
import type { SourceImage } from '../../core/requests.js';
import { assistantPressPlatform } from './slack-assistant-platform.js';
import { registerSlackEdits } from './slack-edits.js';
import { ACTIONS } from './slack-format.js';
import { SlackPlatform, type SlackReplies } from './slack-platform.js';
import { unescapeSlackText } from './slack-text.js';
import { registerSlackModelForm } from './slack-watch.js';

/** What the Slack gateway needs: the inbound service's dependencies. */
export type SlackCommandDeps = InboundDeps;

/** The message subtypes that are a person writing in a thread: plain, "Also send to channel", with a file. */
const FOLLOW_UP_SUBTYPES = new Set([undefined, 'thread_broadcast', 'file_share']);

/**
 * `/flux` and `/ask`, their buttons, and replies in the bot's `/ask` threads: each translated into an inbound
 * event and handed to the one `InboundService`, with a `SlackPlatform` built around the event's `respond`.
 * Slash commands are acked before any I/O; a user error rides on the ack itself (private, nothing queued).
 * @see https://docs.slack.dev/interactivity/implementing-slash-commands
 */
export function registerSlackCommands(app: App, deps: SlackCommandDeps): void {
  const service = new InboundService(deps);
  app.command(/^\/(flux|ask)$/, async ({ command, ack, respond, client }) => {
    const place: Place = { platform: 'slack', workspaceId: command.team_id, channelId: command.channel_id };
    const platform = new SlackPlatform(
      client,
      { ...place, userId: command.user_id },
      {
        ack: (message) => ack(message ? { response_type: 'ephemeral', ...message } : undefined),
        ...respondReplies(respond),
      },
    );
    const event: InboundEvent = {
      requester: { ...place, userId: command.user_id },
      place,
      requestId: slackRequestKey(command),
      receivedAt: deps.now(),
      entry: 'slash',
      input: {
        type: 'command',
        kind: command.command === '/ask' ? 'ask' : 'flux',
        text: unescapeSlackText(command.text ?? ''),
      },
    };
    await service.handle(event, platform);
    // Every path acks on its own; this makes sure Slack never waits for a path that did not.
    await platform.ack();
  });
  registerButtons(app, service, deps);
  registerThreadReplies(app, service, deps);
  registerSlackEdits(app, service, deps);
  registerSlackModelForm(app, service, deps);
}

/**
 * Cancel, Regenerate, Vary, Edit, Details on status messages; Run and Cancel on a confirmation; Cancel in
 * `/flux jobs`. Edit opens a modal by the press's `trigger_id`.
 */
function registerButtons(app: App, service: InboundService, deps: SlackCommandDeps): void {
  for (const action of Object.keys(ACTIONS) as PressAction[]) {
    app.action<BlockAction<ButtonAction>>(
      ACTIONS[action],
      async ({ ack, body, action: pressed, client, respond }) => {
        await ack();
        const event = interactionEvent(deps, {
          workspaceId: body.team?.id ?? body.user.team_id ?? '',
          channelId: body.channel?.id ?? '',
          userId: body.user.id,
          triggerId: body.trigger_id,
          entry: 'button',
          input: { type: 'press', action, id: pressed.value ?? '' },
        });
        const requester = event.requester;
        const platform =
          (await assistantPressPlatform(client, requester, { body, respond, state: deps.state })) ??
          new SlackPlatform(client, requester, respondReplies(respond), body.trigger_id);
        await service.handle(event, platform);
      },
    );
  }
}

/** A Slack `message` event, as far as lorabot reads it. */
export interface SlackMessageEvent {
  subtype?: string;
  bot_id?: string;
  user?: string;
  /** Slack Connect: the workspace of the person who wrote (the envelope may be another's). */
  user_team?: string;
  text?: string;
  ts: string;
  thread_ts?: string;
  channel: string;
  files?: SlackFile[];
}

/**
 * A file shared in a message, as far as lorabot reads it.
 * @see https://docs.slack.dev/reference/objects/file-object
 */
interface SlackFile {
  name?: string;
  mimetype?: string;
  size?: number;
  url_private?: string;
  original_w?: number;
  original_h?: number;
}

/**
 * A message's files as the question's pictures: Slack files need the bot token, so the worker downloads them; the
 * inbound service refuses any that is not a picture or is too big before anything is queued.
 */
function sharedImages(files: readonly SlackFile[] | undefined): SourceImage[] {
  return (files ?? []).flatMap((file): SourceImage[] => {
    if (!file.url_private) return [];
    const { name, mimetype, size, original_w: width, original_h: height } = file;
    return [
      {
        kind: 'slack-file',
        url: file.url_private,
        ...(name ? { name } : {}),
        ...(mimetype ? { mimetype } : {}),
        ...(size !== undefined ? { bytes: size } : {}),
        ...(width && height ? { width, height } : {}),
      },
    ];
  });
}

/** The envelope of an Events API request, as far as lorabot reads it. */
export interface SlackEnvelope {
  team_id?: string;
  event_id?: string;
  authorizations?: Array<{ team_id?: string }>;
}

/**
 * A message in a thread the bot started with `/ask` continues that conversation, whether sent with "Also send
 * to channel" or with files (pictures the question is about). The thread is found by channel
 * and thread ts, so a Slack Connect partner's reply is answered too; it is charged to the partner's own
 * workspace (the event's `user_team`), while the access rules are those of the workspace lorabot is installed in.
 * Slack retries an event it thinks was lost; the event id is claimed once.
 * @see https://docs.slack.dev/reference/events/message
 * @see https://docs.slack.dev/apis/slack-connect/
 */
function registerThreadReplies(app: App, service: InboundService, deps: SlackCommandDeps): void {
  app.event('message', async ({ event, body, client }) => {
    const message = event as SlackMessageEvent;
    if (!FOLLOW_UP_SUBTYPES.has(message.subtype) || message.bot_id || !message.user) return;
    if (!message.thread_ts || message.thread_ts === message.ts) return;
    const written = writtenMessage(message, body as SlackEnvelope, deps);
    if (!written) return;
    let conversationKey: string | undefined;
    try {
      conversationKey = await findThreadConversation(service, message, body as SlackEnvelope);
    } catch (error) {
      deps.logger.warn({ err: String(error) }, 'could not look up a thread; the reply is not answered');
      return;
    }
    if (!conversationKey) return;
    const { question, images, ...origin } = written;
    const platform = ephemeralPlatform(client, origin.requester, message.thread_ts);
    await service.handle(
      {
        ...origin,
        entry: 'thread',
        input: {
          type: 'follow-up',
          conversationKey,
          threadId: message.thread_ts,
          question,
          ...(images.length > 0 ? { images } : {}),
        },
      },
      platform,
    );
  });
}

/** A message a person wrote in a thread, translated: who, where, the platform's request id, and what they wrote. */
export interface WrittenMessage
  extends Pick<InboundEvent, 'requester' | 'place' | 'requestId' | 'receivedAt'> {
  /** The text, unescaped, without a leading mention of the bot. */
  question: string;
  images: SourceImage[];
}

/**
 * Who wrote a message and where, or undefined when it holds nothing to answer (no text, no picture). A Slack
 * Connect partner is charged to their own workspace (the event's `user_team`), while the access rules are those
 * of the workspace lorabot is installed in. Slack retries an event it thinks was lost; the event id is the
 * request id, claimed once.
 */
export function writtenMessage(
  message: SlackMessageEvent,
  envelope: SlackEnvelope,
  deps: Pick<SlackCommandDeps, 'now'>,
): WrittenMessage | undefined {
  // A leading mention of the bot is how people address it; it is not part of the question.
  const question = unescapeSlackText(message.text ?? '')
    .replace(/^\s*<@[A-Z0-9]+>\s*/, '')
    .trim();
  const images = sharedImages(message.files);
  if (!question && images.length === 0) return undefined;
  const installedIn = envelope.authorizations?.[0]?.team_id ?? envelope.team_id ?? '';
  const place: Place = { platform: 'slack', workspaceId: installedIn, channelId: message.channel };
  const requester: Requester = {
    ...place,
    workspaceId: message.user_team ?? envelope.team_id ?? '',
    userId: message.user ?? '',
  };
  const eventId = envelope.event_id ?? `${message.channel}-${message.ts}`;
  const requestId = `slack-${installedIn}-${eventId}`.replace(/[^\w.-]/g, '_');
  return { requester, place, requestId, receivedAt: deps.now(), question, images };
}

/** The conversation a thread holds, found by channel and thread ts (so a Slack Connect partner's reply finds it). */
export function findThreadConversation(
  service: InboundService,
  message: Pick<SlackMessageEvent, 'channel' | 'thread_ts'>,
  envelope: SlackEnvelope,
): Promise<string | undefined> {
  // The key by team is how threads were kept before lorabot 0.9; it still finds them while they live.
  return service.findConversation('slack', [
    `${message.channel}:${message.thread_ts}`,
    `${envelope.team_id ?? ''}:${message.channel}:${message.thread_ts}`,
  ]);
}

/** Private answers where there is no `response_url` (a thread, a submitted modal): ephemeral messages. */
export function ephemeralPlatform(client: WebClient, requester: Requester, threadTs?: string): SlackPlatform {
  return new SlackPlatform(client, requester, {
    send: async (message) => {
      await client.chat.postEphemeral({
        channel: requester.channelId,
        user: requester.userId,
        ...(threadTs ? { thread_ts: threadTs } : {}),
        ...message,
      } as Parameters<WebClient['chat']['postEphemeral']>[0]);
    },
  });
}

/** Private answers by the event's `response_url`. */
export function respondReplies(respond: RespondFn): SlackReplies {
  return {
    send: async (message) => {
      await respond({ response_type: 'ephemeral', ...message } as Parameters<RespondFn>[0]);
    },
    replace: async (text) => {
      await respond({ replace_original: true, text });
    },
  };
}

/** Slack sends no request id with a slash command; its `trigger_id` is unique per invocation. */
/**
 * The inbound event of an interaction (a button, a shortcut, a submitted modal): who pressed it in which
 * workspace and channel, keyed by the trigger Slack sends with it (the same on a redelivery).
 */
export function interactionEvent(
  deps: Pick<SlackCommandDeps, 'now'>,
  from: {
    workspaceId: string;
    channelId: string;
    userId: string;
    triggerId: string;
    entry: InboundEvent['entry'];
    input: InboundEvent['input'];
  },
): InboundEvent {
  const place: Place = { platform: 'slack', workspaceId: from.workspaceId, channelId: from.channelId };
  return {
    requester: { ...place, userId: from.userId },
    place,
    requestId: slackRequestKey({ team_id: from.workspaceId, trigger_id: from.triggerId }),
    receivedAt: deps.now(),
    entry: from.entry,
    input: from.input,
  };
}

/** What a modal's `private_metadata` carried (lorabot writes JSON naming at least the channel). */
export type ViewMetadata = Record<string, unknown> & { channel: string };

/**
 * A lorabot modal's submission (`view_submission`): acked at once, closing the modal, then handed on as an event
 * from the channel its metadata names, with the input `read` makes of the metadata and the submitted values
 * (undefined: not a submission of ours, dropped). Answers are ephemeral in that channel.
 * @see https://docs.slack.dev/reference/interaction-payloads/view-interactions-payload#view_submission
 */
export function onViewSubmission(
  app: App,
  callbackId: string,
  handler: { service: InboundService; deps: SlackCommandDeps },
  read: (
    metadata: ViewMetadata,
    values: ViewSubmitAction['view']['state']['values'],
  ) => InboundEvent['input'] | undefined,
): void {
  app.view<ViewSubmitAction>(callbackId, async ({ ack, body, view, client }) => {
    await ack();
    const metadata = viewMetadata(view.private_metadata);
    const input = metadata && read(metadata, view.state.values);
    if (!metadata || !input) return;
    const event = interactionEvent(handler.deps, {
      workspaceId: body.team?.id ?? body.user.team_id ?? '',
      channelId: metadata.channel,
      userId: body.user.id,
      triggerId: view.id,
      entry: 'editor',
      input,
    });
    await handler.service.handle(event, ephemeralPlatform(client, event.requester));
  });
}

function viewMetadata(text: string): ViewMetadata | undefined {
  try {
    const parsed = JSON.parse(text) as Record<string, unknown> | null;
    return typeof parsed?.channel === 'string' ? (parsed as ViewMetadata) : undefined;
  } catch {
    return undefined;
  }
}

export function slackRequestKey(command: Pick<SlashCommand, 'team_id' | 'trigger_id'>): string {
  return `slack-${command.team_id}-${command.trigger_id}`.replace(/[^\w.-]/g, '_');
}
