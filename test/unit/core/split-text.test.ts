import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitText } from '../../../src/core/split-text.js';

/** A fragment of generated text; `atomic` ones (entities, links, emoji, flags, marked letters; all shorter than the
 * smallest limit tried, since only a token longer than the limit may be cut) must never be cut. */
interface Fragment {
  text: string;
  atomic: boolean;
}

const atomic = (values: string[]) => fc.constantFrom(...values).map((text) => ({ text, atomic: true }));
const loose = (arb: fc.Arbitrary<string>) => arb.map((text) => ({ text, atomic: false }));

const fragment: fc.Arbitrary<Fragment> = fc.oneof(
  loose(fc.string({ unit: 'grapheme', maxLength: 30 })),
  loose(fc.string({ unit: 'grapheme-ascii', maxLength: 40 })),
  loose(fc.constantFrom(' ', '\n', '\n\n', 'word ', 'a line\n')),
  atomic(['&amp;', '&lt;', '&gt;', '&quot;', '&#39;', '&#x1F600;', '&nbsp;']),
  atomic([
    '<https://example.com/a?b=c|a label with spaces>',
    '<@U012ABCDEF>',
    '<!here>',
    '<https://example.com>',
  ]),
  atomic(['👩‍👩‍👧‍👦', '🏳️‍🌈', '👍🏽', '🇫🇷', '🇯🇵', 'e\u0301\u0302', 'Z\u0351\u0352\u0353', '😀']),
);

/** Text built from fragments, with the ranges a cut may not fall strictly inside. */
function build(fragments: Fragment[]): { text: string; atoms: Array<[number, number]> } {
  let text = '';
  const atoms: Array<[number, number]> = [];
  for (const f of fragments) {
    if (f.atomic) atoms.push([text.length, text.length + f.text.length]);
    text += f.text;
  }
  return { text, atoms };
}

/**
 * Finds each piece in the text in order, allowing only whitespace between them (what a cut drops), and returns the
 * start and end offset of every piece.
 */
function align(text: string, pieces: string[]): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  let at = 0;
  for (const piece of pieces) {
    // A cut may drop any part of the whitespace at it (a piece may keep a leading space after a dropped newline).
    const skipped = text.slice(at).length - text.slice(at).trimStart().length;
    let start = at;
    while (start < at + skipped && !text.startsWith(piece, start)) start++;
    expect(text.slice(start, start + piece.length)).toBe(piece);
    spans.push([start, start + piece.length]);
    at = start + piece.length;
  }
  expect(text.slice(at).trim()).toBe('');
  return spans;
}

function graphemeBoundaries(text: string): Set<number> {
  const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
  const boundaries = new Set([...segmenter.segment(text)].map((s) => s.index));
  boundaries.add(text.length);
  return boundaries;
}

const fenceLines = (text: string) => text.split('\n').filter((line) => /^ {0,3}```/.test(line));
const withoutFencesOrSpace = (text: string) =>
  text
    .split('\n')
    .filter((line) => !/^ {0,3}```/.test(line))
    .join('')
    .replace(/\s+/g, '');

describe('splitText', () => {
  it('never cuts a grapheme, an entity or a link, loses nothing but whitespace at cuts, and keeps every piece within the limit', () => {
    fc.assert(
      fc.property(
        fc.array(fragment, { maxLength: 120 }),
        fc.integer({ min: 50, max: 200 }),
        (fragments, limit) => {
          const { text, atoms } = build(fragments);
          const pieces = splitText(text, limit);
          for (const piece of pieces) expect(piece.length).toBeLessThanOrEqual(limit);
          const boundaries = graphemeBoundaries(text);
          for (const [start, end] of align(text, pieces)) {
            for (const cut of [start, end]) {
              expect(boundaries.has(cut), `cut at ${cut} splits a grapheme`).toBe(true);
              for (const [from, to] of atoms)
                expect(cut > from && cut < to, `cut at ${cut} splits ${text.slice(from, to)}`).toBe(false);
            }
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('closes every code fence a cut falls inside and reopens it in the next piece, so every piece renders', () => {
    const block = fc
      .tuple(
        fc.constantFrom('', 'ts', 'python', 'json'),
        fc.array(fc.string({ unit: 'grapheme', maxLength: 30 }), { maxLength: 15 }),
      )
      .map(
        ([info, lines]) =>
          `\`\`\`${info}\n${lines.map((l) => l.replace(/\n/g, ' ').replace(/`/g, "'")).join('\n')}\n\`\`\``,
      );
    const prose = fc.string({ unit: 'grapheme', maxLength: 80 }).map((s) => s.replace(/`/g, "'"));
    fc.assert(
      fc.property(
        fc.array(fc.oneof(block, prose), { maxLength: 12 }),
        fc.integer({ min: 30, max: 300 }),
        (parts, limit) => {
          const text = parts.join('\n');
          const pieces = splitText(text, limit);
          for (const piece of pieces) {
            expect(piece.length).toBeLessThanOrEqual(limit);
            expect(fenceLines(piece).length % 2, piece).toBe(0);
          }
          expect(withoutFencesOrSpace(pieces.join('\n'))).toBe(withoutFencesOrSpace(text));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('reopens a fenced block with its info string and closes it at the end of the piece', () => {
    const text = `Here:\n\`\`\`python\n${'print(1)\n'.repeat(40)}\`\`\`\nDone.`;
    const pieces = splitText(text, 120);
    expect(pieces.length).toBeGreaterThan(2);
    expect(pieces[0]).toMatch(/^Here:\n```python\nprint\(1\)/);
    for (const piece of pieces.slice(0, -1)) expect(piece.endsWith('\n```')).toBe(true);
    for (const piece of pieces.slice(1)) expect(piece.startsWith('```python\nprint(1)')).toBe(true);
    expect(pieces.at(-1)).toMatch(/```\nDone\.$/);
  });

  it('moves a whole entity or Slack link to the next piece rather than cutting it', () => {
    expect(splitText(`${'x'.repeat(18)}&lt;tail`, 20)).toEqual(['x'.repeat(18), '&lt;tail']);
    expect(splitText(`${'x'.repeat(15)}<https://example.com|a b>`, 30)).toEqual([
      'x'.repeat(15),
      '<https://example.com|a b>',
    ]);
    expect(splitText(`${'x'.repeat(19)}👩‍👩‍👧‍👦`, 20)).toEqual(['x'.repeat(19), '👩‍👩‍👧‍👦']);
  });

  it('cuts a single grapheme longer than the limit only between code points', () => {
    const zalgo = `a${'\u0301'.repeat(50)}`;
    const pieces = splitText(`${zalgo}😀😀😀😀😀😀😀😀😀😀`, 16);
    for (const piece of pieces) {
      expect(piece.length).toBeLessThanOrEqual(16);
      expect(piece).not.toMatch(/[\uD800-\uDBFF]$|^[\uDC00-\uDFFF]/);
    }
    expect(pieces.join('')).toBe(`${zalgo}😀😀😀😀😀😀😀😀😀😀`);
  });
});
