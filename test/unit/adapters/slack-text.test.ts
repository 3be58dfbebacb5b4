import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSlackBody } from '../../../src/adapters/slack/slack-receivers.js';
import { escapeSlackText, unescapeSlackText } from '../../../src/adapters/slack/slack-text.js';

describe('Slack text', () => {
  it('unwraps links with and without labels and decodes entities', () => {
    expect(unescapeSlackText('<https://huggingface.co/o/r>')).toBe('https://huggingface.co/o/r');
    expect(unescapeSlackText('<https://huggingface.co/o/r|o/r>@0.5')).toBe('https://huggingface.co/o/r@0.5');
    expect(unescapeSlackText('<https://civitai.com/api/download/models/1?a=1&amp;b=2>')).toBe(
      'https://civitai.com/api/download/models/1?a=1&b=2',
    );
    expect(unescapeSlackText('a &lt;b&gt; &amp;lt;')).toBe('a <b> &lt;');
  });

  it('leaves mentions as text', () => {
    expect(unescapeSlackText('hi <@U123|bob> and <!here>')).toBe('hi <@U123|bob> and <!here>');
  });

  it('escapes so that no text can form a mention or link', () => {
    expect(escapeSlackText('<!channel> <@U1> a&b')).toBe('&lt;!channel&gt; &lt;@U1&gt; a&amp;b');
    fc.assert(
      fc.property(fc.string(), (text) => {
        const escaped = escapeSlackText(text);
        expect(escaped).not.toMatch(/[<>]/);
        expect(unescapeSlackText(escaped)).toBe(text);
      }),
    );
  });
});

describe('the Slack body parser', () => {
  it.each([
    ['application/json', 'null', false],
    ['application/json', '[1]', false],
    ['application/json', '{"type":', false],
    ['application/json', '{"type":"url_verification"}', true],
    ['application/json', '{"team_id":"valueOf"}', false],
    ['application/x-www-form-urlencoded', 'payload=null', false],
    [
      'application/x-www-form-urlencoded',
      'payload=%7B%22team%22%3A%7B%22id%22%3A%22constructor%22%7D%7D',
      false,
    ],
    ['application/x-www-form-urlencoded', 'team_id=valueOf&command=%2Fflux', false],
    ['application/x-www-form-urlencoded', 'team_id=T0123ABCD&command=%2Fflux&text=a', true],
    ['application/x-www-form-urlencoded', 'not json at all', true],
  ])('%s %s → an object Bolt can take: %s', (type, body, ok) => {
    expect(parseSlackBody(type, body) !== undefined).toBe(ok);
  });
});
