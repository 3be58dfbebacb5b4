import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { freePort, answersPing as ping } from '../../src/queue/redis-url.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The Redis every test uses: REDIS_URL, or a private redis-server this setup started. */
    redisUrl: string;
    /** Whether the suite started (and so owns) that Redis. */
    redisOwned: boolean;
  }
}

const INSTALL_HINT =
  'The tests need Redis. Install redis-server (Debian/Ubuntu: sudo apt-get install -y redis-server; ' +
  'macOS: brew install redis), or set REDIS_URL to a Redis you already run (the suite never flushes it).';

/**
 * Uses REDIS_URL when set; otherwise starts a private redis-server on a free port in a temp dir and stops it at the
 * end. It never flushes a Redis it did not start: tests keep to their own key prefixes.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const external = process.env.REDIS_URL;
  if (external) {
    project.provide('redisUrl', external);
    project.provide('redisOwned', false);
    return undefined;
  }
  const binary = findRedisServer();
  if (!binary) throw new Error(INSTALL_HINT);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'lorabot-test-redis-'));
  const child = spawn(
    binary,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--protected-mode',
      'yes',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  try {
    await waitForPong(port, child, () => output);
  } catch (error) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  project.provide('redisUrl', `redis://127.0.0.1:${port}`);
  project.provide('redisOwned', true);
  return async () => {
    await stop(child);
    rmSync(dir, { recursive: true, force: true });
  };
}

function findRedisServer(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

async function waitForPong(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}:\n${output()}`);
    if (await ping(port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server did not answer PING on port ${port} within 10 s:\n${output()}`);
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
