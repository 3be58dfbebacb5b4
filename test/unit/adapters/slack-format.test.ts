import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  markdownToMrkdwn,
  noticeText,
  parentMessage,
  splitMessage,
} from '../../../src/adapters/slack/slack-format.js';

describe('Slack message formatting', () => {
  it('converts common Markdown to mrkdwn', () => {
    expect(markdownToMrkdwn('# Title\n**bold** and *italic* and ~~gone~~\n- one\n* two')).toBe(
      '*Title*\n*bold* and _italic_ and ~gone~\n• one\n• two',
    );
    expect(markdownToMrkdwn('use `a < b` here')).toBe('use `a &lt; b` here');
    expect(markdownToMrkdwn('```js\nif (a < b) {}\n```')).toBe('```\nif (a &lt; b) {}\n```');
  });

  it('shows a link’s real address instead of a disguised label', () => {
    expect(markdownToMrkdwn('[your bank](https://evil.example/login)')).toBe(
      'your bank (https://evil.example/login)',
    );
    expect(markdownToMrkdwn('[https://good.example](https://evil.example)')).toBe(
      'https://good.example (https://evil.example)',
    );
    expect(markdownToMrkdwn('<https://evil.example|https://good.example>')).toBe(
      '&lt;https://evil.example|https://good.example&gt;',
    );
  });

  it('neutralises every mention form a model or user could write', () => {
    const hostile = '<!channel> <!here> <!everyone> <@U123> <!subteam^S1> <#C1|general> &lt;!here&gt;';
    const out = markdownToMrkdwn(hostile);
    expect(out).not.toMatch(/<[@!#]/);
    expect(noticeText('U9', { ok: false, kind: 'ask', text: hostile })).toMatch(/^<@U9> [^<]*$/);
    const parent = parentMessage(
      'U9',
      { jobId: 'j1', kind: 'flux', command: `/flux ${hostile}` },
      { state: 'failed', reason: hostile },
    );
    const all = JSON.stringify(parent);
    expect(all.match(/<@/g)).toHaveLength(2);
    expect(all).not.toMatch(/<!|<#/);
  });

  it('never lets any text form a mention or link', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        expect(markdownToMrkdwn(text)).not.toMatch(/[<>]/);
        expect(noticeText('U1', { ok: true, kind: 'flux', text }).slice('<@U1>'.length)).not.toMatch(/[<>]/);
      }),
    );
  });

  it('splits long answers within the limit on paragraph, line or word boundaries', () => {
    const paragraph = 'word '.repeat(300).trim();
    const text = Array.from({ length: 10 }, () => paragraph).join('\n\n');
    const pieces = splitMessage(text, 3500);
    expect(pieces.length).toBeGreaterThan(1);
    for (const piece of pieces) expect(piece.length).toBeLessThanOrEqual(3500);
    expect(pieces.join(' ').replace(/\s+/g, ' ')).toBe(text.replace(/\s+/g, ' '));
  });

  it('closes and reopens a code fence that a split falls inside', () => {
    const code = `\`\`\`\n${'x = 1\n'.repeat(1000)}\`\`\``;
    const pieces = splitMessage(code, 1000);
    expect(pieces.length).toBeGreaterThan(1);
    for (const piece of pieces) {
      expect(piece.length).toBeLessThanOrEqual(1000);
      expect((piece.match(/```/g) ?? []).length % 2).toBe(0);
    }
  });

  it('keeps the parent message within Block Kit limits for a very long command', () => {
    const message = parentMessage(
      'U1',
      { jobId: 'j1', kind: 'flux', command: `/flux ${'panda '.repeat(1000)}` },
      { state: 'queued', position: 3 },
    );
    const section = (message.blocks[0] as { text: { text: string } }).text.text;
    expect(section.length).toBeLessThanOrEqual(3000);
    expect(JSON.stringify(message.blocks[1])).toContain('Queued (position 3)');
  });
});
