/**
 * Splits command text into prompt words and `--flag value` options. Whitespace separates tokens; a lone `--`
 * ends the options, so everything after it is prompt text. Flags may also be written `--flag=value`, and an em or
 * en dash (what phones and macOS turn `--` into) works as `--` for a known flag.
 */

export interface FlagToken {
  name: string;
  /** The value, or undefined when the flag was last or followed by another flag. */
  value: string | undefined;
  /** The flag as typed, for messages. */
  raw: string;
}

export interface Tokens {
  words: string[];
  flags: FlagToken[];
  /** Tokens that start with `--` but name no known flag. */
  unknown: string[];
}

const FLAG = /^(--|\u2014|\u2013)([A-Za-z][\w-]*)(?:=(.*))?$/su;

/** Splits on any Unicode white space, dropping empty pieces. */
export function splitWords(text: string): string[] {
  return text.split(/[\s\u200b\u2060\ufeff]+/u).filter((word) => word.length > 0);
}

export function tokenize(text: string, knownFlags: ReadonlySet<string>): Tokens {
  const pieces = splitWords(text);
  const tokens: Tokens = { words: [], flags: [], unknown: [] };
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i]!;
    if (piece === '--') {
      tokens.words.push(...pieces.slice(i + 1));
      break;
    }
    const match = FLAG.exec(piece);
    const name = match?.[2]?.toLowerCase();
    if (!match || !name || !knownFlags.has(name)) {
      // Only a `--word` is an unknown option; a dash-word is ordinary prompt text ("a cat —cute").
      if (match && match[1] === '--') tokens.unknown.push(piece);
      else tokens.words.push(piece);
      continue;
    }
    let value = match[3];
    if (value === undefined) {
      const next = pieces[i + 1];
      if (next !== undefined && !isFlagLike(next, knownFlags)) {
        value = next;
        i++;
      }
    }
    tokens.flags.push({ name, value: value === '' ? undefined : value, raw: piece });
  }
  return tokens;
}

function isFlagLike(piece: string, knownFlags: ReadonlySet<string>): boolean {
  if (piece === '--') return true;
  const match = FLAG.exec(piece);
  if (!match) return false;
  return match[1] === '--' || knownFlags.has(match[2]!.toLowerCase());
}

/** Whether a word would be read as an option (so formatting must put it after `--`). */
export function needsSeparator(word: string, knownFlags: ReadonlySet<string>): boolean {
  return word === '--' || isFlagLike(word, knownFlags);
}
