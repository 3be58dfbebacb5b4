import type { JobStatus, Notice } from '../../core/jobs.js';
import { splitText } from '../../core/split-text.js';

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

const ICON: Record<JobStatus['state'], string> = { queued: '⏳', running: '🎨', done: '✅', failed: '❌' };

export function statusLine(status: JobStatus): string {
  switch (status.state) {
    case 'queued':
      return `${ICON.queued} Queued${status.position > 1 ? ` (position ${status.position})` : ''}`;
    case 'running':
      return `${ICON.running} Running…`;
    case 'done':
      return `${ICON.done} Done · ${status.costText}`;
    case 'failed':
      return `${ICON.failed} Failed: ${status.reason}`;
  }
}

/** The status message: who ran which command, and how it is going. */
export function statusContent(userId: string, command: string, status: JobStatus): string {
  const line = statusLine(status);
  const room = DISCORD_CONTENT_LIMIT - line.length - userId.length - 20;
  return `<@${userId}> ran ${codeSpan(command, room)}\n${line}`.slice(0, DISCORD_CONTENT_LIMIT);
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
