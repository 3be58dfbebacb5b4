import type { InboundInput } from './chat-platform.js';

/** Words that stand alone as a `/flux` (or, for `models`, an `/ask`) subcommand when typed without the name. */
const BARE_WORDS: Readonly<Record<string, 'flux' | 'ask'>> = {
  help: 'flux',
  presets: 'flux',
  usage: 'flux',
  jobs: 'flux',
  notify: 'flux',
  models: 'ask',
};

/**
 * The command a typed line names: `/flux …` or `/ask …` (the slash optional, as in `lorabot run`), or a bare
 * subcommand word such as `help` or `jobs`. Undefined for anything else.
 */
export function commandOfLine(line: string): Extract<InboundInput, { type: 'command' }> | undefined {
  const match = /^\s*\/?(\S+)\s*([\s\S]*)$/u.exec(line);
  const name = match?.[1]?.toLowerCase();
  if (name === 'flux' || name === 'ask') return { type: 'command', kind: name, text: match?.[2] ?? '' };
  const bare = name ? BARE_WORDS[name] : undefined;
  return bare ? { type: 'command', kind: bare, text: line.trim() } : undefined;
}
