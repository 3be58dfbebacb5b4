import type { ConversationTurn } from './jobs.js';
import type { ChatMessage } from './ports.js';

/** A rough token count (about 4 characters a token), used only to keep a history under its budget. */
export function roughTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

export interface TrimmedHistory {
  messages: ChatMessage[];
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
    kept: kept.length,
    dropped,
    note,
  };
}
