import { type REST, Routes } from 'discord.js';
import type { ModelForm } from '../../app/chat-platform.js';
import { type WatchNotice, type WatchView, watchStatusText } from '../../core/finetune.js';
import type { DiscordTarget, WatchDelivery } from '../../core/jobs.js';
import { buttonRow, DISCORD_CONTENT_LIMIT, NO_MENTIONS } from './discord-format.js';

/**
 * `/ask watch` on Discord: the status message (with 👀 Watch), the end notice (every watcher mentioned, and only
 * they: `allowed_mentions.users`), and the Add as model modal. Text from Together can ping no one.
 * @see https://discord.com/developers/docs/resources/message#allowed-mentions-object
 */

/** The Add as model modal's id: `lorabot:add-model:<together id>`; its inputs' ids. */
const MODEL_FORM_PREFIX = 'lorabot:add-model-form:';
export const MODEL_FORM_INPUTS = { name: 'name', system: 'system', maxTokens: 'max_tokens' } as const;

/** The status message's body. */
export function watchBody(view: WatchView) {
  return {
    content: watchStatusText(view.snapshot, view.watchers).slice(0, DISCORD_CONTENT_LIMIT),
    components: view.end
      ? []
      : [buttonRow([{ label: '👀 Watch', action: 'watch', value: view.snapshot.id }])],
    allowedMentions: NO_MENTIONS,
  };
}

/** The end notice's body: mentions every watcher (Discord allows 100 user ids per message). */
export function watchNoticeBody(notice: WatchNotice) {
  const mentions = notice.watchers.map((id) => `<@${id}>`).join(' ');
  return {
    content: `${mentions} ${notice.text}`.trim().slice(0, DISCORD_CONTENT_LIMIT),
    allowed_mentions: { parse: [] as never[], users: notice.watchers.slice(0, 100) },
    components: notice.addModel
      ? [
          buttonRow([
            { label: 'Add as model', action: 'add-model', value: notice.snapshot.id, style: 'primary' },
          ]),
        ]
      : [],
  };
}

/** Edits the status message and posts the end notice in its channel, with the bot token. */
export function discordWatchDelivery(rest: REST): WatchDelivery<DiscordTarget> {
  return {
    show: async (target, view) => {
      const { content, components } = watchBody(view);
      await rest.patch(Routes.channelMessage(target.channelId, target.statusMessageId), {
        body: { content, components, allowed_mentions: NO_MENTIONS },
      });
    },
    announce: async (target, notice) => {
      await rest.post(Routes.channelMessages(target.channelId), { body: watchNoticeBody(notice) });
    },
  };
}

/**
 * The Add as model modal.
 * @see https://discord.com/developers/docs/components/reference#text-input
 */
export function modelFormModal(form: ModelForm) {
  const input = (id: string, label: string, extra: Record<string, unknown>) => ({
    type: 1,
    components: [{ type: 4, custom_id: id, label, ...extra }],
  });
  return {
    custom_id: `${MODEL_FORM_PREFIX}${form.watchId}`,
    title: 'Add as model',
    components: [
      input(MODEL_FORM_INPUTS.name, 'Name (what --model takes)', {
        style: 1,
        value: form.name,
        max_length: 40,
        required: true,
      }),
      input(MODEL_FORM_INPUTS.system, 'System prompt', { style: 2, max_length: 3000, required: false }),
      input(MODEL_FORM_INPUTS.maxTokens, 'max_tokens', {
        style: 1,
        value: '1024',
        max_length: 6,
        required: true,
      }),
    ],
  };
}

/** The watch id of an Add as model modal's custom_id. */
export function parseModelFormId(customId: string): string | undefined {
  return customId.startsWith(MODEL_FORM_PREFIX)
    ? customId.slice(MODEL_FORM_PREFIX.length) || undefined
    : undefined;
}
