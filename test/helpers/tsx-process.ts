import { type ChildProcess, spawn } from 'node:child_process';
import { REPO_ROOT } from './paths.js';

/** A TypeScript entry run in its own Node process (through tsx), with everything it prints collected. */
export interface TsxProcess {
  child: ChildProcess;
  /** What it printed so far, stdout and stderr interleaved. */
  output: () => string;
}

/** Starts `entry` (a path from the repository's root) with `args`, this process's environment plus `env`. */
export function spawnTsx(entry: string, args: string[], env: Record<string, string>): TsxProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  return { child, output: () => output };
}
