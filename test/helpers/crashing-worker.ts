/**
 * A `lorabot worker` for crash tests: the real worker (`startLorabot`, as `lorabot worker` starts it), given a
 * step hook that kills the process (SIGKILL) in the instant after a job step's platform call returned and before
 * the journal records the step. It kills itself once per job and step: the first time a step reaches the hook it
 * writes a marker file in `LORABOT_TEST_CRASH_DIR` and dies; a worker started after it finds the marker and goes
 * on to the next step, so one job, restarted again and again, is cut after every step it has. Only this file
 * (a test helper, outside the package) gives the hook: no configuration of lorabot can.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startLorabot } from '../../src/cli/runtime.js';
import { testEntry } from './test-entry.js';

const { setting: dir, config, logger } = testEntry('LORABOT_TEST_CRASH_DIR');

/** The marker of a job's step: a file name safe for any job id and step. */
function marker(jobId: string, step: string): string {
  return join(dir, encodeURIComponent(`${jobId} ${step}`));
}

await startLorabot(config, {
  gateway: false,
  worker: true,
  logger,
  cwd: process.cwd(),
  afterStep: (jobId, step) => {
    const path = marker(jobId, step);
    if (existsSync(path)) return;
    writeFileSync(path, step);
    process.kill(process.pid, 'SIGKILL');
    // SIGKILL takes effect at once; nothing after this line runs.
    return new Promise<void>(() => {});
  },
});
