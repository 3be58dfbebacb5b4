import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ANSWER_FILE,
  answerOnStatus,
  EMBED_DESCRIPTION_LIMIT,
  EMBEDS_LIMIT,
  EMBEDS_TOTAL_LIMIT,
  previewOnStatus,
} from '../../../src/adapters/discord/discord-embeds.js';

type Embeds = Array<{ description: string }>;

describe('an answer shown on a Discord status', () => {
  it('keeps within the embed limits for any answer, and beyond them attaches all of it as answer.md', () => {
    const paragraph = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 900 });
    fc.assert(
      fc.property(fc.array(paragraph, { minLength: 1, maxLength: 25 }), (paragraphs) => {
        const text = paragraphs.join('\n\n');
        const { body, files } = answerOnStatus(text);
        const embeds = body.embeds as Embeds;
        expect(embeds.length).toBeGreaterThan(0);
        expect(embeds.length).toBeLessThanOrEqual(EMBEDS_LIMIT);
        expect(embeds.every((e) => e.description.length <= EMBED_DESCRIPTION_LIMIT)).toBe(true);
        expect(embeds.reduce((sum, e) => sum + e.description.length, 0)).toBeLessThanOrEqual(
          EMBEDS_TOTAL_LIMIT,
        );
        if (files) {
          expect(body.attachments).toEqual([{ id: '0', filename: ANSWER_FILE }]);
          expect(files.map((f) => [f.name, (f.data as Buffer).toString('utf8')])).toEqual([
            [ANSWER_FILE, text],
          ]);
        } else {
          expect(body.attachments).toEqual([]);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('shows masked links as their real address, and the cursor alone before any text', () => {
    expect(answerOnStatus('see [docs](https://evil.example)').body.embeds).toEqual([
      { description: 'see docs (<https://evil.example>)' },
    ]);
    expect(previewOnStatus('').body.embeds).toEqual([{ description: '▍' }]);
    expect(previewOnStatus('x'.repeat(5000)).body.embeds).toEqual([{ description: `${'x'.repeat(4094)} ▍` }]);
  });
});
