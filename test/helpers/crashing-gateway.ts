/**
 * A `lorabot gateway` for crash tests: the real gateway (`startLorabot`, as `lorabot gateway` starts it), given an
 * intake hook that kills the process (SIGKILL) the first time a launch reaches the point named by
 * `LORABOT_TEST_CRASH_AT` (`claimed`, `admitted`, `posted` or `queued`). It prints `test gateway ready <url>` once it
 * takes requests on every configured platform. Only this file (a test helper, outside the package) gives the hook:
 * no configuration of lorabot can.
 */
import { startLorabot } from '../../src/cli/runtime.js';
import { testEntry } from './test-entry.js';

const { setting: crashAt, config, logger } = testEntry('LORABOT_TEST_CRASH_AT');

const running = await startLorabot(config, {
  gateway: true,
  worker: false,
  logger,
  cwd: process.cwd(),
  afterIntake: (requestKey, point) => {
    if (point !== crashAt) return;
    process.stdout.write(`test gateway killed at ${point}: ${requestKey}\n`);
    process.kill(process.pid, 'SIGKILL');
    // SIGKILL takes effect at once; nothing after this line runs.
    return new Promise<void>(() => {});
  },
});
while (running.discord && !running.discord.client.isReady()) await new Promise((r) => setTimeout(r, 50));
process.stdout.write(`test gateway ready ${running.httpUrl}\n`);
