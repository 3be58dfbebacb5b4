import { definePlatformSuite, suiteConfig } from './platform-suite.js';
import { SLACK_CAPABILITIES, startSlackDriver } from './slack-driver.js';

definePlatformSuite('Slack', SLACK_CAPABILITIES, () => startSlackDriver(suiteConfig));
