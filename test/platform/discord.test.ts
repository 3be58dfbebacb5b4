import { expect, it } from 'vitest';
import { expectSafeDiscordCalls } from '../helpers/discord-harness.js';
import { DISCORD_CAPABILITIES, startDiscordDriver } from './discord-driver.js';
import { definePlatformSuite, suiteConfig } from './platform-suite.js';

definePlatformSuite(
  'Discord',
  DISCORD_CAPABILITIES,
  () => startDiscordDriver(suiteConfig),
  (driver) => {
    it('answered every Edit press and "Edit with lorabot" with its modal first, well within Discord\'s 3 s', () => {
      const { discord } = driver().h;
      const ages = discord.modals.map((m) => discord.interaction(m.interactionId)!.deferredAfterMs!);
      // Edit on the heron (twice: once sent by a stranger), the owl's Edit past its budget, the message with an image.
      expect(ages.length).toBe(4);
      expect(Math.max(...ages)).toBeLessThan(3000);
    });

    it('sent every message with allowed_mentions that can ping no one but a requester, and only valid bodies', () => {
      const { discord } = driver().h;
      expectSafeDiscordCalls(discord, 30);
      // The suite's `/flux notify dm` sent a notice by DM.
      expect(discord.messagesIn(discord.dmChannelId).length).toBeGreaterThan(0);
    });
  },
);
