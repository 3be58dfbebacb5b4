import type { RawFile } from 'discord.js';
import { splitText } from '../../core/split-text.js';
import { unmaskLinks } from './discord-format.js';

/**
 * Results shown on a job's status message, where only the interaction's webhook can post (see `DiscordMessages`):
 * an answer, or the lines about images too large to attach, go in embeds under the status line, which the status
 * updates rewrite without touching them. Embeds never ping; model text has its masked links shown as they are,
 * as in messages.
 * @see https://discord.com/developers/docs/resources/message#embed-object-embed-limits
 */

/** "Embed descriptions are limited to 4096 characters." */
export const EMBED_DESCRIPTION_LIMIT = 4096;
/** Titles, descriptions, field names and values, footers and author names, across a message's embeds: 6000. */
export const EMBEDS_TOTAL_LIMIT = 6000;
/** "Up to 10 rich embeds." */
export const EMBEDS_LIMIT = 10;
/** The file an answer too long for the status's embeds is attached as, whole. */
export const ANSWER_FILE = 'answer.md';
/** Ends the start of an answer shown above its file. */
export const ANSWER_FILE_NOTE = `\n\n(The whole answer is attached as ${ANSWER_FILE}.)`;

/** What a PATCH of the status carries: its JSON fields and the files it uploads. */
export interface StatusPatch {
  body: Record<string, unknown>;
  files?: RawFile[];
}

/**
 * A whole answer on the status: in embeds while it fits Discord's limits, else its start in one embed and the
 * whole text as `answer.md`. The same text always gives the same patch, so a retried step repeats the edit exactly;
 * `attachments` lists every file the status keeps (none, or the answer's), so an earlier attempt's file never stays.
 */
export function answerOnStatus(text: string): StatusPatch {
  const shown = unmaskLinks(text);
  const pieces = splitText(shown, EMBED_DESCRIPTION_LIMIT);
  const total = pieces.reduce((sum, piece) => sum + piece.length, 0);
  if (pieces.length > 0 && pieces.length <= EMBEDS_LIMIT && total <= EMBEDS_TOTAL_LIMIT) {
    return { body: { embeds: pieces.map((description) => ({ description })), attachments: [] } };
  }
  const head = splitText(shown, EMBED_DESCRIPTION_LIMIT - ANSWER_FILE_NOTE.length)[0] ?? '';
  return {
    body: {
      embeds: [{ description: `${head}${ANSWER_FILE_NOTE}` }],
      attachments: [{ id: '0', filename: ANSWER_FILE }],
    },
    files: [{ name: ANSWER_FILE, data: Buffer.from(text, 'utf8'), contentType: 'text/markdown' }],
  };
}

/** An answer while it is being written: its first embed's worth, with a cursor (just the cursor at first). */
export function previewOnStatus(partial: string): StatusPatch {
  const first = splitText(unmaskLinks(partial), EMBED_DESCRIPTION_LIMIT - 2)[0] ?? '';
  return { body: { embeds: [{ description: first ? `${first} ▍` : '▍' }] } };
}

/** The lines saying which images were too large to attach, as one embed. */
export function refusedOnStatus(lines: readonly string[]): Record<string, unknown> {
  return { embeds: [{ description: lines.join('\n').slice(0, EMBED_DESCRIPTION_LIMIT) }] };
}
