import type { JobStatus, JobView, Notice } from '../../core/jobs.js';
import { splitText } from '../../core/split-text.js';
import { statusActions, statusWords } from '../../core/status-actions.js';

/**
 * What lorabot's Discord messages look like. Pings are prevented by `allowed_mentions` on every message (only
 * the requester's own completion ping is allowed); user text is also kept inside code spans where it is quoted.
 * @see https://discord.com/developers/docs/resources/message#allowed-mentions-object
 */

/** "content: up to 2000 characters" (Create Message). */
export const DISCORD_CONTENT_LIMIT = 2000;

/** Mentions nothing: for every message whose text came from a user or a model. */
export const NO_MENTIONS = { parse: [] as never[] };

/** Mentions only the requester: the completion notice. */
export function onlyUser(userId: string) {
  return { parse: [] as never[], users: [userId] };
}

const ICON: Record<JobStatus['state'], string> = {
  queued: '⏳',
  running: '🎨',
  done: '✅',
  failed: '❌',
  cancelled: '🚫',
};

/** Button ids: `lorabot:<action>:<job or pending id>` (a custom_id holds up to 100 characters). */
export type ButtonAction =
  | 'cancel'
  | 'regenerate'
  | 'vary'
  | 'edit'
  | 'details'
  | 'run'
  | 'dismiss'
  | 'watch'
  | 'add-model';

export function buttonId(action: ButtonAction, value: string): string {
  return `lorabot:${action}:${value}`;
}

export function parseButtonId(customId: string): { action: ButtonAction; value: string } | undefined {
  const match = /^lorabot:(cancel|regenerate|vary|edit|details|run|dismiss|watch|add-model):(.+)$/.exec(
    customId,
  );
  return match ? { action: match[1] as ButtonAction, value: match[2]! } : undefined;
}

/** The editor modal's id: `lorabot:editor:<draft id>`; its text input's id. */
const EDITOR_PREFIX = 'lorabot:editor:';
export const EDITOR_INPUT = 'text';
/** The message command's name: "Edit with lorabot" in a message's Apps menu. */
export const EDIT_COMMAND = 'Edit with lorabot';

/** A text input's value holds up to 4,000 characters. */
const INPUT_LIMIT = 4000;

/**
 * The editor: a modal with the prompt (and `/flux` options) to send with the images it starts from.
 * @see https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-response-object-modal
 * @see https://discord.com/developers/docs/components/reference#text-input
 */
export function editorModal(editor: { draftId: string; text: string; images: number }) {
  const images = editor.images === 1 ? 'the image' : `${editor.images} images`;
  return {
    custom_id: `${EDITOR_PREFIX}${editor.draftId}`,
    title: 'Edit with lorabot',
    components: [
      {
        type: 1,
        components: [
          {
            type: 4,
            custom_id: EDITOR_INPUT,
            style: 2,
            label: `Prompt (starts from ${images})`.slice(0, 45),
            placeholder: '/flux options work here too: --lora, --size, --seed…',
            required: true,
            max_length: INPUT_LIMIT,
            ...(editor.text ? { value: editor.text.slice(0, INPUT_LIMIT) } : {}),
          },
        ],
      },
    ],
  };
}

/** The draft id of an editor modal's custom_id. */
export function parseEditorId(customId: string): string | undefined {
  return customId.startsWith(EDITOR_PREFIX) ? customId.slice(EDITOR_PREFIX.length) || undefined : undefined;
}

/** Button styles. @see https://discord.com/developers/docs/components/reference#button */
const PRIMARY = 1;
const SECONDARY = 2;
const DANGER = 4;

export function buttonRow(
  buttons: Array<{ label: string; action: ButtonAction; value: string; style?: 'primary' | 'danger' }>,
) {
  return {
    type: 1,
    components: buttons.map((b) => ({
      type: 2,
      style: b.style === 'danger' ? DANGER : b.style === 'primary' ? PRIMARY : SECONDARY,
      label: b.label,
      custom_id: buttonId(b.action, b.value),
    })),
  };
}

/** The buttons of a status message (which ones: `statusActions`). */
export function statusComponents(view: JobView, status: JobStatus) {
  const actions = statusActions(view, status);
  if (actions.length === 0) return [];
  return [
    buttonRow(
      actions.map((a) => ({
        label: a.label,
        action: a.action,
        value: view.jobId,
        ...(a.style ? { style: a.style } : {}),
      })),
    ),
  ];
}

export function statusLine(status: JobStatus): string {
  // allowed_mentions keeps text from pinging anyone; the cancelled-by mention names the presser without a ping.
  return `${ICON[status.state]} ${statusWords(status, { escape: (text) => text, mention: (id) => `<@${id}>` })}`;
}

/** The status message: who ran which command, and how it is going. */
export function statusContent(userId: string, view: JobView, status: JobStatus): string {
  const line = statusLine(status);
  const context = view.context ? `\n-# ${view.context}` : '';
  const room = DISCORD_CONTENT_LIMIT - line.length - context.length - userId.length - 20;
  return `<@${userId}> ran ${codeSpan(view.command, room)}${context}\n${line}`.slice(
    0,
    DISCORD_CONTENT_LIMIT,
  );
}

/** An answer while it is being written: the first message's worth, with a cursor. */
export function previewContent(partial: string): string {
  const first = splitText(unmaskLinks(partial), DISCORD_CONTENT_LIMIT - 2)[0] ?? '';
  return `${first} ▍`;
}

export function noticeContent(userId: string, notice: Notice): string {
  const what = notice.kind === 'flux' ? 'Your image is ready' : 'Your answer is ready';
  const detail = unmaskLinks(notice.text);
  const text = notice.ok
    ? `<@${userId}> ${what}. ${detail}`
    : `<@${userId}> Your /${notice.kind} request failed: ${detail}`;
  return text.slice(0, DISCORD_CONTENT_LIMIT);
}

/** Splits an answer into Discord-sized messages on paragraph, line or word boundaries. */
export function splitAnswer(text: string): string[] {
  return splitText(unmaskLinks(text), DISCORD_CONTENT_LIMIT);
}

/**
 * Shows every masked link's real address: `[label](https://…)` becomes `label (<https://…>)`, so text from a
 * model can never disguise where a link goes (the angle brackets also stop an embed).
 */
export function unmaskLinks(text: string): string {
  return text.replace(
    /\[([^\]\n]*)\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g,
    (_, label: string, url: string) => (label && label !== url ? `${label} (<${url}>)` : `<${url}>`),
  );
}

/** Quotes user text in a code span it cannot break out of. */
export function codeSpan(text: string, max: number): string {
  const clean = text.replace(/`/g, 'ˋ').replace(/\s+/g, ' ');
  const chars = [...clean];
  const shown = chars.length > max ? `${chars.slice(0, Math.max(0, max - 1)).join('')}…` : clean;
  return `\`${shown}\``;
}
