/** Splitting long text into messages that fit a platform's limit. */

/**
 * Splits text into pieces of at most `limit` characters, preferring paragraph, then line, then word boundaries,
 * and closing and reopening a code fence that a split falls inside.
 */
export function splitText(text: string, limit: number): string[] {
  const pieces: string[] = [];
  let rest = text;
  while (rest.length > limit) {
    let cut = lastBoundary(rest, limit);
    if (cut <= 0) cut = limit;
    let piece = rest.slice(0, cut).trimEnd();
    rest = rest.slice(cut).replace(/^\n+/, '');
    if ((piece.match(/```/g) ?? []).length % 2 === 1) {
      piece = `${piece}\n\`\`\``;
      rest = `\`\`\`\n${rest}`;
    }
    pieces.push(piece);
  }
  if (rest.trim().length > 0 || pieces.length === 0) pieces.push(rest);
  return pieces;
}

function lastBoundary(text: string, limit: number): number {
  // Leave room for a closing fence.
  const window = text.slice(0, limit - 4);
  for (const separator of ['\n\n', '\n', ' ']) {
    const at = window.lastIndexOf(separator);
    if (at > limit / 2) return at + separator.length;
  }
  return window.length;
}
