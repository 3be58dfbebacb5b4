import { type ChildProcess, spawn } from 'node:child_process';
import { REPO_ROOT } from './paths.js';
import { waitFor } from './wait.js';

const outputs = new WeakMap<ChildProcess, () => string>();

/** Everything a worker process started here has printed so far (stdout and stderr). */
export function workerOutput(child: ChildProcess): string {
  return outputs.get(child)?.() ?? '';
}

/**
 * Starts a real `lorabot worker` process (TypeScript through tsx) and waits until it takes jobs. With `crashDir`,
 * the worker of test/helpers/crashing-worker.ts, which kills itself after each job step's platform call, once per
 * step, leaving a marker file per crash in `crashDir`.
 */
export async function startWorkerProcess(
  env: Record<string, string>,
  options: { crashDir?: string } = {},
): Promise<ChildProcess> {
  const entry = options.crashDir ? ['test/helpers/crashing-worker.ts'] : ['src/main.ts', 'worker'];
  const child = spawn(process.execPath, ['--import', 'tsx', ...entry], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      ...env,
      ...(options.crashDir ? { LORABOT_TEST_CRASH_DIR: options.crashDir } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  outputs.set(child, () => output);
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  await waitFor(
    'the worker to start',
    () => {
      if (child.exitCode !== null || (child.signalCode !== null && !options.crashDir))
        throw new Error(`worker exited: ${output}`);
      // A crashing worker may take a job, and die with it, before it says it started.
      return (
        output.includes('worker started') || (options.crashDir !== undefined && child.signalCode !== null)
      );
    },
    30_000,
  );
  return child;
}

/** Stops a worker process: SIGKILL (a crash) or SIGTERM (a graceful stop). */
export function stopWorkerProcess(
  child: ChildProcess,
  signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL',
): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
    child.kill(signal);
  });
}
