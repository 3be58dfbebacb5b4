import { DISCORD_CAPABILITIES, startDiscordDriver } from './discord-driver.js';
import { definePlatformSuite, suiteConfig } from './platform-suite.js';

definePlatformSuite('Discord', DISCORD_CAPABILITIES, () => startDiscordDriver(suiteConfig));
