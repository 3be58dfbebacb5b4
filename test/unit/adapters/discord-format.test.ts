import { describe, expect, it } from 'vitest';
import {
  codeSpan,
  noticeContent,
  splitAnswer,
  statusContent,
  unmaskLinks,
} from '../../../src/adapters/discord/discord-format.js';

describe('Discord message formatting', () => {
  it('shows the real address of every masked link', () => {
    expect(unmaskLinks('[https://good.example](https://evil.example/login)')).toBe(
      'https://good.example (<https://evil.example/login>)',
    );
    expect(unmaskLinks('see [docs](<https://docs.example> "title")')).toBe(
      'see docs (<https://docs.example>)',
    );
    expect(unmaskLinks('[https://a.example](https://a.example)')).toBe('<https://a.example>');
    expect(splitAnswer('click [here](https://evil.example)')).toEqual([
      'click here (<https://evil.example>)',
    ]);
    expect(noticeContent('1', { ok: false, kind: 'ask', text: 'see [help](https://evil.example)' })).toBe(
      '<@1> Your /ask request failed: see help (<https://evil.example>)',
    );
  });

  it('quotes the command in a code span it cannot break out of, within 2,000 characters', () => {
    expect(codeSpan('a `b` c', 100)).toBe('`a ˋbˋ c`');
    const long = statusContent(
      '123',
      { jobId: 'j1', kind: 'flux', command: `/flux ${'x'.repeat(5000)}` },
      { state: 'queued', position: 2 },
    );
    expect(long.length).toBeLessThanOrEqual(2000);
    expect(long.endsWith('⏳ Queued (position 2)')).toBe(true);
  });
});
