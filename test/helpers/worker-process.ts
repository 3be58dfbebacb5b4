import { type ChildProcess, spawn } from 'node:child_process';
import { REPO_ROOT } from './paths.js';
import { waitFor } from './wait.js';

const outputs = new WeakMap<ChildProcess, () => string>();

/** Everything a worker process started here has printed so far (stdout and stderr). */
export function workerOutput(child: ChildProcess): string {
  return outputs.get(child)?.() ?? '';
}

/** Starts a real `lorabot worker` process (TypeScript through tsx) and waits until it takes jobs. */
export async function startWorkerProcess(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'worker'], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
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
      if (child.exitCode !== null) throw new Error(`worker exited: ${output}`);
      return output.includes('worker started');
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
