/**
 * Splitting long text into messages that fit a platform's limit.
 *
 * A cut may only fall where the reader cannot see it: on a grapheme boundary (never inside a surrogate pair, an
 * emoji ZWJ sequence, a flag or a letter with its combining marks), never inside an HTML entity (`&lt;`, the
 * escapes Slack needs), never inside an angle-bracket token (`<https://…|label>`, `<@U…>`, `<!here>`) and never
 * inside a code-fence line. A cut inside a fenced block closes the fence at the end of the piece and reopens it
 * with the same info string at the start of the next, so every message renders on its own.
 */

const FENCE = '```';
/** What is appended to a piece that ends inside a fenced block. */
const CLOSE = `\n${FENCE}`;
/** Tokens a cut must not split; an angle-bracket token never spans lines. */
const ATOMIC = /&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});|<[^<>\n]+>/g;
/** A fence line: up to three spaces, three backticks, an optional info string. */
const FENCE_LINE = /^ {0,3}```(.*)$/gm;
/** Separators a cut prefers, best first, when one lies in the second half of the window. */
const SEPARATORS = ['\n\n', '\n', ' '];

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** The fence state from a line start onwards: the open block's info string, or null outside any block. */
interface FenceChange {
  at: number;
  open: string | null;
}

/**
 * Splits text into pieces of at most `limit` UTF-16 code units, preferring paragraph, then line, then word
 * boundaries. Whitespace at a cut is dropped; nothing else is lost or changed except the fence lines added to
 * close and reopen a block a cut falls inside. Only a single grapheme or token longer than the limit is ever cut
 * through (on a code-point boundary).
 */
export function splitText(text: string, limit: number): string[] {
  const allowed = cutPoints(text);
  const fences = fenceChanges(text);
  const pieces: string[] = [];
  let start = 0;
  let open: string | null = null;
  for (;;) {
    const reopen = open === null ? '' : `${FENCE}${reopenInfo(open, limit)}\n`;
    const room = limit - reopen.length;
    if (text.length - start <= room) {
      const rest = text.slice(start);
      if (rest.trim().length > 0 || pieces.length === 0) pieces.push(reopen + rest);
      return pieces;
    }
    let cut = chooseCut(text, allowed, start, start + room);
    // Inside a block the piece also needs room for the fence that closes it.
    if (fenceAt(fences, cut) !== null) cut = chooseCut(text, allowed, start, start + room - CLOSE.length);
    const stillOpen = fenceAt(fences, cut);
    const content = text.slice(start, cut).trimEnd();
    if (content.trim().length > 0) pieces.push(`${reopen}${content}${stillOpen === null ? '' : CLOSE}`);
    open = stillOpen;
    start = cut;
    while (text[start] === '\n') start++;
  }
}

/** The info string to reopen a block with; dropped if it would leave too little room for text. */
function reopenInfo(info: string, limit: number): string {
  return info.length <= limit / 8 ? info : '';
}

/** `allowed[i]` is true where a cut before index `i` splits no grapheme, entity, token or fence line. */
function cutPoints(text: string): boolean[] {
  const allowed = new Array<boolean>(text.length + 1).fill(false);
  for (const { index } of graphemes.segment(text)) allowed[index] = true;
  allowed[text.length] = true;
  for (const pattern of [ATOMIC, FENCE_LINE]) {
    for (const match of text.matchAll(pattern)) {
      for (let i = match.index + 1; i < match.index + match[0].length; i++) allowed[i] = false;
    }
  }
  return allowed;
}

function fenceChanges(text: string): FenceChange[] {
  const changes: FenceChange[] = [];
  let open: string | null = null;
  for (const match of text.matchAll(FENCE_LINE)) {
    open = open === null ? (match[1] ?? '').trim() : null;
    changes.push({ at: match.index, open });
  }
  return changes;
}

/** The fence state of the text before `position`. */
function fenceAt(changes: readonly FenceChange[], position: number): string | null {
  let open: string | null = null;
  for (const change of changes) {
    if (change.at >= position) break;
    open = change.open;
  }
  return open;
}

/** The best cut in (start, end]: after a separator if one is late enough, else the last allowed point. */
function chooseCut(text: string, allowed: readonly boolean[], start: number, end: number): number {
  const last = Math.max(start + 1, end);
  const half = start + (last - start) / 2;
  for (const separator of SEPARATORS) {
    for (
      let at = text.lastIndexOf(separator, last - separator.length);
      at >= 0;
      at = at > 0 ? text.lastIndexOf(separator, at - 1) : -1
    ) {
      const cut = at + separator.length;
      if (cut <= half) break;
      if (allowed[cut]) return cut;
    }
  }
  for (let cut = last; cut > start; cut--) if (allowed[cut]) return cut;
  // One grapheme or token longer than the whole window: cut it, but never between the halves of a surrogate pair.
  return isLowSurrogate(text.charCodeAt(last)) && last - 1 > start ? last - 1 : last;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
