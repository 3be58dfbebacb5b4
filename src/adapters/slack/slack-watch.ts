import type { App } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { ModelForm } from '../../app/chat-platform.js';
import type { InboundService } from '../../app/inbound-service.js';
import { type WatchNotice, type WatchView, watchStatusText } from '../../core/finetune.js';
import type { SlackTarget, WatchDelivery } from '../../core/jobs.js';
import { onViewSubmission, type SlackCommandDeps } from './slack-commands.js';
import { ACTIONS, button, type SlackMessage } from './slack-format.js';
import { escapeSlackText } from './slack-text.js';

/**
 * `/ask watch` on Slack: the status message (with 👀 Watch), its end notice (mentioning every watcher, with Add as
 * model), and the Add as model modal and its submission. Text from Together is escaped.
 * @see https://docs.slack.dev/reference/methods/chat.update
 * @see https://docs.slack.dev/reference/views/modal-views
 */

/** The `callback_id` of the Add as model modal. */
export const MODEL_FORM_CALLBACK = 'lorabot_add_model';

/** The watch's status message. */
export function watchMessage(view: WatchView): SlackMessage {
  const text = escapeSlackText(watchStatusText(view.snapshot, view.watchers));
  const blocks: Array<Record<string, unknown>> = [{ type: 'section', text: { type: 'mrkdwn', text } }];
  if (!view.end)
    blocks.push({ type: 'actions', elements: [button('👀 Watch', ACTIONS.watch, view.snapshot.id)] });
  return { text, blocks };
}

/** The end notice: a new message that mentions every watcher. */
export function watchNoticeMessage(notice: WatchNotice): SlackMessage {
  const mentions = notice.watchers.map((id) => `<@${id}>`).join(' ');
  const text = `${mentions} ${escapeSlackText(notice.text)}`.trim();
  const blocks: Array<Record<string, unknown>> = [{ type: 'section', text: { type: 'mrkdwn', text } }];
  if (notice.addModel)
    blocks.push({
      type: 'actions',
      elements: [button('Add as model', ACTIONS['add-model'], notice.snapshot.id, 'primary')],
    });
  return { text, blocks };
}

/** Edits the status message and posts the end notice in its channel, with the bot token. */
export function slackWatchDelivery(client: WebClient): WatchDelivery<SlackTarget> {
  return {
    show: async (target, view) => {
      await client.chat.update({ channel: target.channelId, ts: target.parentTs, ...watchMessage(view) });
    },
    announce: async (target, notice) => {
      await client.chat.postMessage({
        channel: target.channelId,
        ...watchNoticeMessage(notice),
        unfurl_links: false,
        unfurl_media: false,
      });
    },
  };
}

/** The Add as model modal: name, system prompt, max_tokens. */
export function modelFormView(form: ModelForm, channel: string) {
  const input = (block: string, label: string, extra: Record<string, unknown>, optional = false) => ({
    type: 'input',
    block_id: block,
    optional,
    label: { type: 'plain_text', text: label },
    element: { type: 'plain_text_input', action_id: 'value', ...extra },
  });
  return {
    type: 'modal',
    callback_id: MODEL_FORM_CALLBACK,
    private_metadata: JSON.stringify({ watch: form.watchId, channel }),
    title: { type: 'plain_text', text: 'Add as model' },
    submit: { type: 'plain_text', text: 'Add' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: escapeSlackText(`Model: ${form.modelId}`) }],
      },
      input('name', 'Name (what --model takes)', { initial_value: form.name, max_length: 40 }),
      input('system', 'System prompt', { multiline: true, max_length: 3000 }, true),
      input('max_tokens', 'max_tokens', { initial_value: '1024', max_length: 6 }),
    ],
  };
}

/** The Add as model modal's submission, handed to the inbound service (which checks the admin again). */
export function registerSlackModelForm(app: App, service: InboundService, deps: SlackCommandDeps): void {
  onViewSubmission(app, MODEL_FORM_CALLBACK, { service, deps }, (metadata, values) => {
    if (typeof metadata.watch !== 'string') return undefined;
    const value = (block: string) => values[block]?.value?.value ?? '';
    return {
      type: 'add-model',
      watchId: metadata.watch,
      name: value('name'),
      systemPrompt: value('system'),
      maxTokens: value('max_tokens'),
    };
  });
}
