import type { App, MessageShortcut } from '@slack/bolt';
import type { InboundService } from '../../app/inbound-service.js';
import type { SourceImage } from '../../core/requests.js';
import {
  interactionEvent,
  onViewSubmission,
  respondReplies,
  type SlackCommandDeps,
} from './slack-commands.js';
import { EDIT_SHORTCUT, EDITOR_CALLBACK } from './slack-format.js';
import { SlackPlatform } from './slack-platform.js';

/** A file of a Slack message, as far as lorabot reads it. @see https://docs.slack.dev/reference/objects/file-object */
interface SlackFile {
  name?: string;
  mimetype?: string;
  size?: number;
  url_private?: string;
}

/**
 * "Edit with lorabot" (a message shortcut, `lorabot_edit_message` in slack-app-manifest.yaml) and the editor modal's
 * submission. The shortcut reads the message's image files (readable only with the bot token: the worker downloads
 * them) and opens the editor by its `trigger_id`; the submission is acked at once (closing the modal) and handed
 * on with the draft and channel the modal carried. Answers after a submission are ephemeral in that channel.
 * @see https://docs.slack.dev/interactivity/implementing-shortcuts#message-shortcuts
 * @see https://docs.slack.dev/reference/interaction-payloads/view-interactions-payload#view_submission
 */
export function registerSlackEdits(app: App, service: InboundService, deps: SlackCommandDeps): void {
  app.shortcut<MessageShortcut>(
    { type: 'message_action', callback_id: EDIT_SHORTCUT },
    async ({ ack, shortcut, client, respond }) => {
      await ack();
      const event = interactionEvent(deps, {
        workspaceId: shortcut.team?.id ?? shortcut.user.team_id ?? '',
        channelId: shortcut.channel.id,
        userId: shortcut.user.id,
        triggerId: shortcut.trigger_id,
        entry: 'message-action',
        input: { type: 'edit-message', images: slackImages(shortcut.message.files) },
      });
      const platform = new SlackPlatform(
        client,
        event.requester,
        respondReplies(respond),
        shortcut.trigger_id,
      );
      await service.handle(event, platform);
    },
  );
  onViewSubmission(app, EDITOR_CALLBACK, { service, deps }, (metadata, values) =>
    typeof metadata.draft === 'string'
      ? { type: 'edit', draftId: metadata.draft, text: values.prompt?.text?.value ?? '' }
      : undefined,
  );
}

/** A message's image files as sources; files of other types are left out. */
export function slackImages(files: unknown): SourceImage[] {
  if (!Array.isArray(files)) return [];
  return (files as SlackFile[])
    .filter((file) => file.mimetype?.startsWith('image/') && file.url_private)
    .map((file) => ({
      kind: 'slack-file' as const,
      url: file.url_private!,
      ...(file.name ? { name: file.name } : {}),
      mimetype: file.mimetype!,
      ...(file.size !== undefined ? { bytes: file.size } : {}),
    }));
}
