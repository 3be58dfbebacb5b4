import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { commandText } from '../../../src/adapters/discord/command-definitions.js';
import { parseMention } from '../../../src/adapters/discord/discord-bot.js';
import { parseCommand } from '../../../src/core/command-parser.js';
import { testSettings } from '../../helpers/settings.js';

const settings = testSettings();

describe('Discord input never throws', () => {
  it('10,000 random application-command option sets and mention texts parse to a request or a user error', () => {
    const optionName = fc.constantFrom(
      'prompt',
      'question',
      'lora',
      'lora2',
      'size',
      'ar',
      'steps',
      'n',
      'seed',
      'model',
      'image',
      'junk',
    );
    const value = fc.oneof(
      fc.string({ maxLength: 120 }),
      fc.string({ unit: 'binary', maxLength: 120 }),
      fc.integer(),
      fc.double(),
    );
    let results = 0;
    fc.assert(
      fc.property(
        fc.constantFrom('flux' as const, 'ask' as const),
        fc.array(fc.tuple(optionName, value), { maxLength: 10 }),
        fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 })),
        (name, options, mention) => {
          const text = commandText(name, new Map(options as Array<[string, string | number]>));
          for (const result of [parseCommand(name, text, settings), parseMention(mention, settings)]) {
            results++;
            if (!result.success) expect(result.error.message.length).toBeGreaterThan(0);
          }
        },
      ),
      { numRuns: 10_000 },
    );
    expect(results).toBe(20_000);
  });

  it('turns the typed image option of /flux into --image, checked by the same rules as a typed one', () => {
    const options = new Map<string, string | number>([
      ['prompt', 'make it night'],
      ['image', 'https://cdn.discordapp.com/attachments/1/2/cat.png?ex=1&is=2&hm=3'],
    ]);
    const text = commandText('flux', options);
    expect(text).toBe(
      'make it night --image https://cdn.discordapp.com/attachments/1/2/cat.png?ex=1&is=2&hm=3',
    );
    expect(parseCommand('flux', text, settings)).toMatchObject({
      success: true,
      data: {
        request: {
          images: [
            { kind: 'link', url: 'https://cdn.discordapp.com/attachments/1/2/cat.png?ex=1&is=2&hm=3' },
          ],
        },
      },
    });
    const insecure = commandText(
      'flux',
      new Map([
        ['prompt', 'a'],
        ['image', 'http://example.com/a.png'],
      ]),
    );
    expect(parseCommand('flux', insecure, settings)).toMatchObject({
      success: false,
      error: { code: 'image_link_not_https' },
    });
  });
});
