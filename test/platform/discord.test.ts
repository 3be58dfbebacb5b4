import { expect, it } from 'vitest';
import { expectSafeDiscordCalls } from '../helpers/discord-harness.js';
import { DISCORD_CAPABILITIES, startDiscordDriver } from './discord-driver.js';
import { definePlatformSuite, suiteConfig } from './platform-suite.js';

definePlatformSuite(
  'Discord',
  DISCORD_CAPABILITIES,
  () => startDiscordDriver(suiteConfig),
  (driver) => {
    it('sent every message with allowed_mentions that can ping no one but a requester, and only valid bodies', () => {
      const { discord } = driver().h;
      expectSafeDiscordCalls(discord, 30);
      // The suite's `/flux notify dm` sent a notice by DM.
      expect(discord.messagesIn(discord.dmChannelId).length).toBeGreaterThan(0);
    });
  },
);
