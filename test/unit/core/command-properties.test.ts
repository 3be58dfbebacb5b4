import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { unescapeSlackText } from '../../../src/adapters/slack/slack-text.js';
import { formatChatCommand, formatImageCommand } from '../../../src/core/command-format.js';
import { parseCommand, parseCommandLine } from '../../../src/core/command-parser.js';
import { MAX_LORAS, MAX_SEED } from '../../../src/core/requests.js';
import { testSettings } from '../../helpers/settings.js';

const settings = testSettings();
const { bounds } = settings.image;

const word = fc.oneof(
  fc.string({ minLength: 1, maxLength: 12 }),
  fc.constantFrom(
    'panda',
    'a',
    '🐼',
    'مرحبا',
    'שלום',
    '‏',
    'help',
    '--',
    '—',
    '-x',
    '@',
    '<@U1>',
    '&amp;',
    '<!here>',
  ),
  fc.stringMatching(/^[a-z]{1,8}$/),
);
const flagValue = fc.oneof(
  fc.integer({ min: -5, max: 3000 }).map(String),
  fc.constantFrom('1024x768', '512x512', '16:9', '3:4', '21:1', 'tarot', 'tarot@0.5', 'realism@3', 'x', ''),
  fc.constantFrom(
    'https://huggingface.co/o/r',
    'https://huggingface.co/o/r/blob/main/a.safetensors@0.4',
    'https://civitai.com/api/download/models/5?type=Model&format=SafeTensor',
    'https://replicate.com/o/m/versions/abc',
    'http://x.com/a.safetensors',
    'https://example.com/a.bin',
    'https://example.com/cat.jpg',
    '<https://example.com/a.png?x=1&amp;y=2|a>',
    'https://user:pw@example.com/a.png',
  ),
  fc.string({ maxLength: 10 }),
);
const flag = fc
  .tuple(
    fc.constantFrom(
      '--lora',
      '--size',
      '--ar',
      '--steps',
      '--n',
      '--seed',
      '--model',
      '--image',
      '--bogus',
      '—ar',
      '--',
    ),
    flagValue,
  )
  .map(([f, v]) => `${f} ${v}`);
const commandText = fc.array(fc.oneof(word, flag), { maxLength: 16 }).map((parts) => parts.join(' '));

describe('grammar properties', () => {
  it('never throws, on structured or random text', () => {
    fc.assert(
      fc.property(
        fc.oneof(commandText, fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 })),
        (text) => {
          parseCommand('flux', text, settings);
          parseCommand('ask', text, settings);
          parseCommandLine(`/flux ${text}`, settings);
          parseCommand('flux', unescapeSlackText(text), settings);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('accepts only requests within every bound', () => {
    fc.assert(
      fc.property(commandText, (text) => {
        const result = parseCommand('flux', text, settings);
        if (!result.success || result.data.kind !== 'flux') return;
        const r = result.data.request;
        expect(r.prompt.length).toBeGreaterThan(0);
        expect([...r.prompt].length).toBeLessThanOrEqual(bounds.maxPromptChars);
        for (const side of [r.width, r.height]) {
          expect(side).toBeGreaterThanOrEqual(bounds.side.min);
          expect(side).toBeLessThanOrEqual(bounds.side.max);
          expect(side % bounds.sideMultiple).toBe(0);
        }
        expect(r.steps).toBeGreaterThanOrEqual(bounds.steps.min);
        expect(r.steps).toBeLessThanOrEqual(bounds.steps.max);
        expect(r.n).toBeGreaterThanOrEqual(bounds.n.min);
        expect(r.n).toBeLessThanOrEqual(bounds.n.max);
        if (r.seed !== undefined) expect(r.seed).toBeLessThanOrEqual(MAX_SEED);
        expect(r.loras.length).toBeLessThanOrEqual(MAX_LORAS);
        expect(r.images?.length ?? 0).toBeLessThanOrEqual(settings.image.edit.maxImages);
        for (const image of r.images ?? []) {
          if (image.kind !== 'link') throw new Error('a typed --image is a link');
          const url = new URL(image.url);
          expect([url.protocol, url.username, url.password]).toEqual(['https:', '', '']);
        }
        for (const lora of r.loras) {
          expect(lora.path.startsWith('https://')).toBe(true);
          expect(lora.scale).toBeGreaterThanOrEqual(bounds.loraScale.min);
          expect(lora.scale).toBeLessThanOrEqual(bounds.loraScale.max);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('parses a formatted request back to the same request', () => {
    let accepted = 0;
    fc.assert(
      fc.property(commandText, (text) => {
        for (const kind of ['flux', 'ask'] as const) {
          const first = parseCommand(kind, text, settings);
          if (!first.success || !('request' in first.data)) continue;
          accepted++;
          const formatted =
            first.data.kind === 'flux'
              ? formatImageCommand(first.data.request, settings)
              : formatChatCommand(first.data.request, settings);
          const again = parseCommandLine(formatted, settings);
          expect(again.success, formatted).toBe(true);
          if (!again.success || !('request' in again.data))
            throw new Error(`reads as a subcommand: ${formatted}`);
          expect(again.data.request, formatted).toEqual(first.data.request);
        }
      }),
      { numRuns: 3000 },
    );
    expect(accepted).toBeGreaterThan(500);
  });

  it('round-trips a prompt that is just "help" or holds option-like words', () => {
    for (const text of ['-- help', '-- a --lora b', 'a -- —ar 3:4', '-- --']) {
      const first = parseCommand('flux', text, settings);
      if (!first.success || first.data.kind !== 'flux') throw new Error(`not accepted: ${text}`);
      const again = parseCommandLine(formatImageCommand(first.data.request, settings), settings);
      expect(again).toEqual({
        success: true,
        data: { kind: 'flux', request: first.data.request, notices: [] },
      });
    }
  });
});
