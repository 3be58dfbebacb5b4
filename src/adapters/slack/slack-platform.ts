import type { WebClient } from '@slack/web-api';
import type * as Port from '../../app/chat-platform.js';
import type { Requester } from '../../core/budget.js';
import type { WatchView } from '../../core/finetune.js';
import type { SlackOrigin } from '../../core/intake.js';
import type { DeliveryTarget, JobStatus, JobView, ListedJob } from '../../core/jobs.js';
import { SlackDeliverer } from './slack-deliverer.js';
import { ACTIONS, button, editorView } from './slack-format.js';
import { postSlackStatus } from './slack-status.js';
import { escapeSlackText } from './slack-text.js';
import { modelFormView, watchMessage } from './slack-watch.js';

/** A private message to the person: plain text, and Block Kit blocks when there are buttons. */
export interface SlackPrivateMessage {
  text: string;
  blocks?: unknown[];
}

/** How one Slack event is answered privately: by its `response_url` (commands, buttons) or `chat.postEphemeral`. */
export interface SlackReplies {
  /** Slash commands: the ack, which may carry the first private answer (Slack shows it at once). */
  ack?: (message?: SlackPrivateMessage) => Promise<void>;
  send(message: SlackPrivateMessage): Promise<void>;
  /** Buttons on a private message: replaces that message. */
  replace?: (text: string) => Promise<void>;
}

/**
 * The inbound port for one Slack event. Status messages are posted with the bot token (in the channel, or in the
 * thread of a follow-up); private answers go back the way `replies` says. Text is escaped here.
 * @see https://docs.slack.dev/interactivity/handling-user-interaction#message_responses
 */
export class SlackPlatform implements Port.ChatPlatform {
  private acked = false;

  constructor(
    private readonly client: WebClient,
    private readonly requester: Requester,
    private readonly replies: SlackReplies,
    /** A button's or shortcut's `trigger_id`: what opens a modal, within 3 seconds of the press. */
    private readonly triggerId?: string,
  ) {}

  async ack(): Promise<void> {
    await this.acknowledge();
  }

  /** Slack's ack, once: empty, or carrying the first private answer. */
  private async acknowledge(message?: SlackPrivateMessage): Promise<void> {
    if (this.acked || !this.replies.ack) return;
    this.acked = true;
    await this.replies.ack(message);
  }

  async tell(text: string): Promise<void> {
    await this.private({ text: escapeSlackText(text) });
  }

  async askToConfirm(question: string, command: string, pendingId: string): Promise<void> {
    await this.private(confirmMessage(question, command, pendingId));
  }

  async closeConfirmation(_end: Port.ConfirmationEnd, text: string): Promise<void> {
    if (!this.replies.replace) return this.tell(text);
    await this.replies.replace(escapeSlackText(text)).catch(() => undefined);
  }

  /** The status message, in the channel or in the thread of a follow-up (see `postSlackStatus`). */
  async postStatus(view: JobView, status: JobStatus, threadId?: string): Promise<Port.PostedStatus> {
    return postSlackStatus(this.client, this.statusOrigin(view, threadId), view, status);
  }

  statusOrigin(_view: JobView, threadId?: string): SlackOrigin {
    const { channelId, userId, workspaceId } = this.requester;
    return { platform: 'slack', workspaceId, channelId, userId, ...(threadId ? { threadTs: threadId } : {}) };
  }

  async updateStatus(target: DeliveryTarget, view: JobView, status: JobStatus): Promise<void> {
    if (target.platform !== 'slack') return;
    await new SlackDeliverer(this.client).updateStatus(target, view, status);
  }

  async showJobs(jobs: readonly ListedJob[], lines: readonly string[]): Promise<void> {
    // 20 sections with a button each: well under Slack's 50 blocks per message.
    const blocks = jobs.slice(0, 20).map((job, i) => ({
      type: 'section',
      text: { type: 'mrkdwn', text: escapeSlackText(lines[i]!) },
      accessory: button('Cancel', ACTIONS.cancel, job.jobId, 'danger'),
    }));
    await this.private({
      text: escapeSlackText(lines.join('\n')),
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*Your jobs*' } }, ...blocks],
    });
  }

  /** @see https://docs.slack.dev/reference/methods/views.open */
  async openEditor(editor: Port.Editor): Promise<void> {
    const metadata = { draft: editor.draftId, channel: this.requester.channelId };
    try {
      if (!this.triggerId) throw new Error('no trigger_id');
      await this.client.views.open({
        trigger_id: this.triggerId,
        view: editorView(editor, metadata),
      } as Parameters<WebClient['views']['open']>[0]);
    } catch {
      await this.tell(
        'Slack did not open the editor (a form opens only just after a press). Press Edit again.',
      );
    }
  }

  /** @see https://docs.slack.dev/reference/methods/chat.postMessage */
  async postWatch(view: WatchView): Promise<DeliveryTarget> {
    const { channelId, userId, workspaceId } = this.requester;
    const posted = await this.client.chat.postMessage({
      channel: channelId,
      ...watchMessage(view),
      unfurl_links: false,
      unfurl_media: false,
    });
    return { platform: 'slack', workspaceId, channelId, userId, parentTs: String(posted.ts) };
  }

  /** @see https://docs.slack.dev/reference/methods/views.open */
  async openModelForm(form: Port.ModelForm): Promise<void> {
    try {
      if (!this.triggerId) throw new Error('no trigger_id');
      await this.client.views.open({
        trigger_id: this.triggerId,
        view: modelFormView(form, this.requester.channelId),
      } as Parameters<WebClient['views']['open']>[0]);
    } catch {
      await this.tell(
        'Slack did not open the form (it opens only just after a press). Press Add as model again.',
      );
    }
  }

  failureText(error: unknown): string | undefined {
    const code = (error as { data?: { error?: string } }).data?.error;
    if (code === 'not_in_channel' || code === 'channel_not_found') {
      return 'lorabot is not in this channel, so it cannot post here. Invite it with `/invite @lorabot` and try again. Nothing was queued or charged.';
    }
    return undefined;
  }

  /** The first private answer to a slash command rides on its ack; later ones go by `replies.send`. */
  private async private(message: SlackPrivateMessage): Promise<void> {
    if (!this.acked && this.replies.ack) return this.acknowledge(message).catch(() => undefined);
    await this.replies.send(message).catch(() => undefined);
  }
}

/** The Run / Cancel question for a costly request. */
function confirmMessage(question: string, command: string, pendingId: string): SlackPrivateMessage {
  return {
    text: escapeSlackText(question),
    blocks: [
      {
        type: 'section',
        text: { type: 'mrkdwn', text: `${escapeSlackText(question)}\n\`${escapeSlackText(command)}\`` },
      },
      {
        type: 'actions',
        elements: [
          button('Run', ACTIONS.run, pendingId, 'primary'),
          button('Cancel', ACTIONS.dismiss, pendingId),
        ],
      },
    ],
  };
}
