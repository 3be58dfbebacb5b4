import { definePlatformSuite, suiteConfig } from './platform-suite.js';
import { startWebDriver, WEB_CAPABILITIES } from './web-driver.js';

definePlatformSuite('Web', WEB_CAPABILITIES, () => startWebDriver(suiteConfig));
