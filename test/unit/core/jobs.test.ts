import { describe, expect, it } from 'vitest';
import { type DeliveryTarget, requesterOf } from '../../../src/core/jobs.js';

describe('requesterOf', () => {
  it('names the workspace workspaceId on every platform', () => {
    const slack: DeliveryTarget = {
      platform: 'slack',
      workspaceId: 'T1',
      channelId: 'C1',
      userId: 'U1',
      parentTs: '1.1',
    };
    const discord: DeliveryTarget = {
      platform: 'discord',
      workspaceId: '',
      channelId: 'D1',
      userId: 'U2',
      statusMessageId: 'M1',
      resultChannelId: 'D1',
      attachmentLimit: 10,
    };
    expect(requesterOf(slack)).toEqual({
      platform: 'slack',
      workspaceId: 'T1',
      channelId: 'C1',
      userId: 'U1',
    });
    expect(requesterOf(discord)).toEqual({
      platform: 'discord',
      workspaceId: '',
      channelId: 'D1',
      userId: 'U2',
    });
  });

  it('reads the workspace of jobs queued by 0.8, which named it teamId or guildId', () => {
    const slack = { platform: 'slack', teamId: 'T9', channelId: 'C9', userId: 'U9', parentTs: '2.2' };
    const discord = {
      platform: 'discord',
      guildId: 'G9',
      channelId: 'D9',
      userId: 'U8',
      statusMessageId: 'M9',
      resultChannelId: 'D9',
      attachmentLimit: 10,
    };
    expect(requesterOf(slack as unknown as DeliveryTarget).workspaceId).toBe('T9');
    expect(requesterOf(discord as unknown as DeliveryTarget).workspaceId).toBe('G9');
  });
});
