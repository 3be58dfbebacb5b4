import { describe, expect, it } from 'vitest';
import { type AccessRules, isAllowed, OPEN_ACCESS } from '../../../src/core/access.js';

const rules: AccessRules = {
  slack: { workspaces: ['T1'], channels: ['C1', 'C2'] },
  discord: { guilds: ['G1'], channels: ['D1'], dms: false },
  admins: { slack: [], discord: [], web: [] },
};

describe('access rules', () => {
  it('allow everything when the lists are empty', () => {
    expect(isAllowed(OPEN_ACCESS, { platform: 'slack', workspaceId: 'T9', channelId: 'C9' })).toBe(true);
    expect(isAllowed(OPEN_ACCESS, { platform: 'discord', workspaceId: '', channelId: 'DM' })).toBe(true);
  });

  it.each([
    [{ platform: 'slack', workspaceId: 'T1', channelId: 'C2' }, true],
    [{ platform: 'slack', workspaceId: 'T1', channelId: 'C3' }, false],
    [{ platform: 'slack', workspaceId: 'T2', channelId: 'C1' }, false],
    [{ platform: 'discord', workspaceId: 'G1', channelId: 'D1' }, true],
    [{ platform: 'discord', workspaceId: 'G1', channelId: 'THREAD', parentChannelId: 'D1' }, true],
    [{ platform: 'discord', workspaceId: 'G1', channelId: 'D2' }, false],
    [{ platform: 'discord', workspaceId: 'G2', channelId: 'D1' }, false],
    [{ platform: 'discord', workspaceId: '', channelId: 'DM' }, false],
  ] as const)('%j → %s', (place, allowed) => {
    expect(isAllowed(rules, place)).toBe(allowed);
  });
});
