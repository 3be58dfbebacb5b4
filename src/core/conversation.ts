import type { ConversationTurn } from './jobs.js';
import type { ChatMessage } from './ports.js';
import { type SourceImage, sourceInBody } from './requests.js';
import { withImageParts } from './together-bodies.js';

/** A rough token count (about 4 characters a token), used only to keep a history under its budget. */
export function roughTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

export interface TrimmedHistory {
  messages: ChatMessage[];
  /** The turns kept, oldest first. */
  turns: ConversationTurn[];
  /** How many earlier messages were kept, and how many were left out to fit the budget. */
  kept: number;
  dropped: number;
  /** What the bot says publicly about the context it used. */
  note: string;
}

/**
 * The most recent turns of a conversation that fit `budgetTokens` (whole turns, newest kept first), oldest first,
 * and a line saying whose messages they are. Only the thread's own turns are ever passed in.
 */
export function trimHistory(
  turns: readonly ConversationTurn[],
  budgetTokens: number,
  askerId: string,
): TrimmedHistory {
  const kept: ConversationTurn[] = [];
  let used = 0;
  for (let i = turns.length - 1; i >= 0; i--) {
    const turn = turns[i]!;
    const cost = roughTokens(turn.content);
    if (used + cost > budgetTokens) break;
    used += cost;
    kept.unshift(turn);
  }
  // Never start with an answer whose question was left out.
  while (kept[0]?.role === 'assistant') kept.shift();
  const askers = new Set(kept.filter((t) => t.role === 'user').map((t) => t.userId ?? ''));
  const others = [...askers].filter((id) => id !== askerId).length;
  const whose = askers.has(askerId)
    ? others === 0
      ? 'you'
      : `you and ${others} other ${others === 1 ? 'person' : 'people'}`
    : `${others} other ${others === 1 ? 'person' : 'people'}`;
  const dropped = turns.length - kept.length;
  const note =
    kept.length === 0
      ? 'Context: none (the earlier messages of this thread did not fit the context budget).'
      : `Context: the ${kept.length} earlier message${kept.length === 1 ? '' : 's'} of this thread (questions from ${whose}, and lorabot's answers)${dropped > 0 ? `; ${dropped} older left out to fit the context budget` : ''}.`;
  return {
    messages: kept.map((turn) => ({ role: turn.role, content: turn.content })),
    turns: kept,
    kept: kept.length,
    dropped,
    note,
  };
}

/** Earlier turns as messages with their pictures: what a follow-up to a vision model sends again. */
export interface HistoryWithImages {
  messages: ChatMessage[];
  /** The pictures sent again, oldest first: the first entries of the follow-up's `images`. */
  images: SourceImage[];
  /** Pictures of these turns left out (the oldest first) to keep within `room`. */
  dropped: number;
}

/**
 * The kept turns as messages, a user turn with pictures as content parts, carrying at most `room` of their
 * pictures: the newest, the oldest left out first (a turn whose pictures are all left out is its text alone).
 * Each picture is written as `sourceInBody` with its index in the returned `images`.
 */
export function historyWithImages(turns: readonly ConversationTurn[], room: number): HistoryWithImages {
  const total = turns.reduce((sum, turn) => sum + (turn.images?.length ?? 0), 0);
  const skip = Math.max(0, total - Math.max(0, room));
  const images: SourceImage[] = [];
  let seen = 0;
  const messages = turns.map((turn): ChatMessage => {
    const urls: string[] = [];
    for (const image of turn.images ?? []) {
      if (seen++ < skip) continue;
      urls.push(sourceInBody(image, images.length));
      images.push(image);
    }
    return { role: turn.role, content: withImageParts(turn.content, urls) };
  });
  return { messages, images, dropped: skip };
}
