import { describe, expect, it } from 'vitest';
import { type AccessRules, isAllowed, OPEN_ACCESS } from '../../../src/core/access.js';

const closed: AccessRules = {
  slack: { workspaces: [], channels: [] },
  discord: { guilds: ['G1'], channels: ['D1'], dms: false },
  admins: { slack: [], discord: [], web: [] },
};

const inDm = { platform: 'discord', workspaceId: '', channelId: 'user-install', userInstall: true } as const;
const inServer = (guild: string) => ({ ...inDm, workspaceId: guild });

describe('access rules for a Discord user install', () => {
  it('allows it everywhere by default', () => {
    expect(isAllowed(OPEN_ACCESS, inDm)).toBe(true);
    expect(isAllowed(OPEN_ACCESS, inServer('G9'))).toBe(true);
  });

  it('keeps the server list, but not the channel list or dms, which name places the bot is in', () => {
    expect(isAllowed(closed, inServer('G1'))).toBe(true);
    expect(isAllowed(closed, inServer('G2'))).toBe(false);
    expect(isAllowed(closed, inDm)).toBe(true);
    // The same DM through the bot's own install follows `dms`.
    expect(isAllowed(closed, { platform: 'discord', workspaceId: '', channelId: 'DM' })).toBe(false);
  });

  it('refuses every user install when user_installs is off', () => {
    const off: AccessRules = { ...OPEN_ACCESS, discord: { ...OPEN_ACCESS.discord, userInstalls: false } };
    expect(isAllowed(off, inDm)).toBe(false);
    expect(isAllowed(off, inServer('G9'))).toBe(false);
    expect(isAllowed(off, { platform: 'discord', workspaceId: 'G9', channelId: 'D9' })).toBe(true);
  });
});
