import type { JobStatus, JobView } from '../../core/jobs.js';
import { splitText } from '../../core/split-text.js';
import { statusActions, statusWords } from '../../core/status-actions.js';
import { escapeSlackText } from './slack-text.js';

/**
 * What lorabot's Slack messages look like. All user and model text is escaped (`&`, `<`, `>`), so nothing a user
 * or a model writes can ping `@channel`, a user or a group, or form a link; the only mention is the one the bot
 * adds on purpose.
 * @see https://docs.slack.dev/messaging/formatting-message-text
 */

/** Slack truncates `text` past 40,000 characters and recommends at most 4,000; we split well below that. */
export const SLACK_TEXT_LIMIT = 3500;
/** A section block's text may hold 3,000 characters. */
const SECTION_LIMIT = 3000;
/** An answer's last message carries its footer in blocks, so its text goes in a section: 3,000 characters. */
export const SECTION_TEXT_LIMIT = SECTION_LIMIT;

export interface SlackMessage {
  text: string;
  blocks: Array<Record<string, unknown>>;
}

const STATUS_ICON: Record<JobStatus['state'], string> = {
  queued: ':hourglass_flowing_sand:',
  running: ':art:',
  done: ':white_check_mark:',
  failed: ':x:',
  cancelled: ':no_entry_sign:',
};

/** The `action_id`s of lorabot's buttons. */
export const ACTIONS = {
  cancel: 'lorabot_cancel',
  regenerate: 'lorabot_regenerate',
  vary: 'lorabot_vary',
  edit: 'lorabot_edit',
  details: 'lorabot_details',
  run: 'lorabot_run',
  dismiss: 'lorabot_dismiss',
  watch: 'lorabot_watch',
  'add-model': 'lorabot_add_model',
} as const;

export function button(text: string, actionId: string, value: string, style?: 'primary' | 'danger') {
  return {
    type: 'button',
    text: { type: 'plain_text', text },
    action_id: actionId,
    value,
    ...(style ? { style } : {}),
  };
}

/** The `callback_id` of the editor modal and of the "Edit with lorabot" message shortcut (slack-app-manifest.yaml). */
export const EDITOR_CALLBACK = 'lorabot_editor';
export const EDIT_SHORTCUT = 'lorabot_edit_message';

/** What the editor modal carries to its submission (`private_metadata`, at most 3,000 characters). */
export interface EditorMetadata {
  draft: string;
  channel: string;
}

/** A plain_text_input takes at most 3,000 characters, its initial value too. */
const INPUT_LIMIT = 3000;

/**
 * The editor: a modal with the prompt (and `/flux` options) to send with the images it starts from.
 * @see https://docs.slack.dev/reference/views/modal-views
 * @see https://docs.slack.dev/reference/block-kit/block-elements/plain-text-input-element
 */
export function editorView(editor: { text: string; images: number }, metadata: EditorMetadata) {
  const images = editor.images === 1 ? 'the image' : `${editor.images} images`;
  return {
    type: 'modal',
    callback_id: EDITOR_CALLBACK,
    private_metadata: JSON.stringify(metadata),
    title: { type: 'plain_text', text: 'Edit with lorabot' },
    submit: { type: 'plain_text', text: 'Make it' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'input',
        block_id: 'prompt',
        label: { type: 'plain_text', text: 'Prompt' },
        hint: {
          type: 'plain_text',
          text: `Starts from ${images}. /flux options work here too: --lora, --size, --seed…`,
        },
        element: {
          type: 'plain_text_input',
          action_id: 'text',
          multiline: true,
          max_length: INPUT_LIMIT,
          ...(editor.text ? { initial_value: editor.text.slice(0, INPUT_LIMIT) } : {}),
        },
      },
    ],
  };
}

/** The buttons a status message offers: Cancel while the job waits or runs; Regenerate and Details on images. */
function statusButtons(view: JobView, status: JobStatus): Array<Record<string, unknown>> {
  return statusActions(view, status).map((a) => button(a.label, ACTIONS[a.action], view.jobId, a.style));
}

export function statusLine(status: JobStatus): string {
  const words = statusWords(status, { escape: escapeSlackText, mention: (id) => `<@${id}>` });
  return `${STATUS_ICON[status.state]} ${words}`;
}

/** The parent message: who ran which command, and its status. Results go into its thread. */
export function parentMessage(userId: string, view: JobView, status: JobStatus): SlackMessage {
  const shown = truncate(view.command.replace(/`/g, 'ˋ'), SECTION_LIMIT - 100);
  const commandText = escapeSlackText(shown);
  const line = statusLine(status);
  const blocks: Array<Record<string, unknown>> = [
    { type: 'section', text: { type: 'mrkdwn', text: `<@${userId}> ran \`${commandText}\`` } },
  ];
  if (view.context) {
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: escapeSlackText(view.context) }] });
  }
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: line }] });
  const buttons = statusButtons(view, status);
  if (buttons.length > 0) blocks.push({ type: 'actions', elements: buttons });
  return { text: `<@${userId}> ran ${commandText} · ${line}`, blocks };
}

/** An answer while it is being written: the first message's worth, with a cursor. */
export function previewText(partial: string): string {
  const first = splitMessage(markdownToMrkdwn(partial))[0] ?? '';
  return `${first} ▍`;
}

/** The completion (or failure) notice: a new message in the thread that mentions the requester. */
export function noticeText(
  userId: string,
  notice: { ok: boolean; kind: 'flux' | 'ask'; text: string },
): string {
  const what = notice.kind === 'flux' ? 'Your image is ready' : 'Your answer is ready';
  return notice.ok
    ? `<@${userId}> ${what}. ${escapeSlackText(notice.text)}`
    : `<@${userId}> Your /${notice.kind} request failed: ${escapeSlackText(notice.text)}`;
}

/**
 * Converts a model's Markdown to Slack mrkdwn, escaping everything first. Links are shown with their real
 * address (`label (https://…)`), never as a disguised `<url|label>`.
 */
export function markdownToMrkdwn(markdown: string): string {
  const out: string[] = [];
  const lines = markdown.replace(/\r\n?/g, '\n').split('\n');
  let inFence = false;
  for (const raw of lines) {
    if (/^\s*```/.test(raw)) {
      inFence = !inFence;
      out.push('```');
      continue;
    }
    if (inFence) {
      out.push(escapeSlackText(raw));
      continue;
    }
    out.push(convertLine(raw));
  }
  if (inFence) out.push('```');
  return out.join('\n');
}

function convertLine(line: string): string {
  const heading = /^\s{0,3}#{1,6}\s+(.*)$/.exec(line);
  if (heading) return `*${convertInline(heading[1]!.replace(/\s+#+\s*$/, ''))}*`;
  const bullet = /^(\s*)[-*+]\s+(.*)$/.exec(line);
  if (bullet) return `${bullet[1]}• ${convertInline(bullet[2]!)}`;
  return convertInline(line);
}

function convertInline(text: string): string {
  // Split out code spans first: their content is only escaped.
  return text
    .split(/(`[^`]*`)/)
    .map((part, i) => (i % 2 === 1 ? escapeSlackText(part) : convertPlain(part)))
    .join('');
}

function convertPlain(text: string): string {
  let result = escapeSlackText(text);
  result = result.replace(/!?\[([^\]]*)\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g, (_, label: string, url: string) =>
    label && label !== url ? `${label} (${url})` : url,
  );
  result = result.replace(/\*\*(?=\S)(.+?)(?<=\S)\*\*/g, '\u0001$1\u0001');
  result = result.replace(/__(?=\S)(.+?)(?<=\S)__/g, '\u0001$1\u0001');
  result = result.replace(/(^|[^*\w])\*(?=\S)([^*]+?)(?<=\S)\*(?![*\w])/g, '$1_$2_');
  result = result.replace(/~~(?=\S)(.+?)(?<=\S)~~/g, '~$1~');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: a placeholder that cannot occur in escaped text.
  return result.replace(/\u0001/g, '*');
}

function truncate(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

/** Splits an answer into Slack-sized messages. */
export function splitMessage(text: string, limit = SLACK_TEXT_LIMIT): string[] {
  return splitText(text, limit);
}
