import { describe, expect, it } from 'vitest';
import { isUserInstallOnly } from '../../../src/adapters/discord/user-install.js';

type Input = Parameters<typeof isUserInstallOnly>[0];

/** An interaction as discord.js reads it. */
function interaction(owners: Record<string, string> | undefined, context: number | null) {
  return { authorizingIntegrationOwners: owners, context } as unknown as Input;
}

describe('isUserInstallOnly', () => {
  it.each([
    ['a server that installed the bot', { '0': 'G1' }, 0, 'G1', false],
    ['a server with both installs', { '0': 'G1', '1': 'U1' }, 0, 'G1', false],
    ["the bot's DM, installed by a server", { '0': '0' }, 1, null, false],
    ["the bot's DM through the person's own install and a server's", { '0': '0', '1': 'U1' }, 1, null, false],
    ["the bot's DM through the person's own install only", { '1': 'U1' }, 1, null, true],
    ['a DM between people', { '1': 'U1' }, 2, null, true],
    ['a group DM, both installs known', { '0': '0', '1': 'U1' }, 2, null, true],
    ['a server without the bot', { '1': 'U1' }, 0, 'G2', true],
    [
      'a server that installed the bot, whatever the client has cached',
      { '0': 'G2', '1': 'U1' },
      0,
      'G2',
      false,
    ],
    ['an interaction without the field (an older shape)', undefined, null, 'G1', false],
  ] as const)('%s → %s', (_, owners, context, _guildId, expected) => {
    expect(isUserInstallOnly(interaction(owners, context))).toBe(expected);
  });
});
