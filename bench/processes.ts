import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** A `lorabot gateway` or `lorabot worker` child process. */
export interface LorabotProcess {
  role: 'gateway' | 'worker';
  child: ChildProcess;
  output: () => string;
}

/** Starts `lorabot <role>` from the build (`dist/`, as it is deployed) and waits for its start-up line. */
export async function startLorabot(
  role: 'gateway' | 'worker',
  env: Record<string, string>,
  profileDir?: string,
): Promise<LorabotProcess> {
  // BENCH_PROFILE=<dir> writes a V8 CPU profile of each process there when it stops; `profileDir` of this one.
  const dir = profileDir ?? process.env.BENCH_PROFILE;
  const profile = dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
  const child = spawn(process.execPath, [...profile, 'dist/main.js', role], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Only the start-up lines are kept; the rest is read and dropped, as a log shipper would.
  let head = '';
  // BENCH_LOGS=<dir> keeps each process's whole log there.
  const file = process.env.BENCH_LOGS
    ? createWriteStream(join(process.env.BENCH_LOGS, `${role}-${Date.now()}.log`))
    : undefined;
  const keep = (chunk: Buffer) => {
    file?.write(chunk);
    if (head.length < 20_000) head += chunk.toString();
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const ready = role === 'gateway' ? 'gateway listening' : 'worker started';
  const deadline = Date.now() + 60_000;
  while (!head.includes(ready)) {
    if (child.exitCode !== null) throw new Error(`lorabot ${role} exited during start-up:\n${head}`);
    if (Date.now() > deadline) throw new Error(`lorabot ${role} did not start within 60 s:\n${head}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { role, child, output: () => head };
}

export function stopLorabot(p: LorabotProcess): Promise<void> {
  return new Promise((resolve) => {
    if (p.child.exitCode !== null || p.child.signalCode !== null) return resolve();
    const timer = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
    p.child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    p.child.kill('SIGTERM');
  });
}

const TICKS_PER_SECOND = 100;

/** CPU seconds a process has used (user + system), from /proc; undefined where there is no /proc. */
export function cpuSeconds(pid: number | undefined): number | undefined {
  const path = `/proc/${pid}/stat`;
  if (pid === undefined || !existsSync(path)) return undefined;
  // Fields after the command name (which may hold spaces) start at ") ": utime and stime are fields 14 and 15.
  const fields = readFileSync(path, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** A process's peak resident set (VmHWM) in MB, from /proc; undefined where there is no /proc. */
export function peakRssMb(pid: number | undefined): number | undefined {
  return statusMb(pid, 'VmHWM');
}

/** A process's resident set now (VmRSS) in MB, from /proc; undefined where there is no /proc. */
export function rssMb(pid: number | undefined): number | undefined {
  return statusMb(pid, 'VmRSS');
}

function statusMb(pid: number | undefined, field: 'VmHWM' | 'VmRSS'): number | undefined {
  const path = `/proc/${pid}/status`;
  if (pid === undefined || !existsSync(path)) return undefined;
  const kb = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(path, 'utf8'))?.[1];
  return kb === undefined ? undefined : Number(kb) / 1024;
}
