import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { resolve } from 'node:path';
import { clusterAddress, type RedisNode } from './redis-connection.js';

export interface ResolvedRedis {
  /** A redis:// URL, or a Redis Cluster's address (see `clusterAddress`): what `createRedis` opens. */
  url: string;
  /** Set when lorabot started its own redis-server: stops it. */
  stop?: () => Promise<void>;
  /** How the URL was chosen, for the start-up log. */
  source: 'REDIS_URL' | 'REDIS_CLUSTER_NODES' | 'local' | 'private';
}

const INSTRUCTIONS =
  'lorabot needs Redis. Set REDIS_URL to your Redis (redis://host:6379), start one on 127.0.0.1:6379, or install ' +
  'redis-server (Debian/Ubuntu: sudo apt-get install -y redis-server; macOS: brew install redis) and lorabot will ' +
  'start a private one under .lorabot/redis.';

/**
 * A Redis Cluster when `clusterNodes` are given (REDIS_URL, if set too, gives its password and TLS); else REDIS_URL
 * when set; else redis://127.0.0.1:6379 if it answers; else a private redis-server child with its data
 * under `.lorabot/redis` and AOF on; else an error with instructions.
 */
export async function resolveRedisUrl(
  configured: string | undefined,
  cwd: string,
  clusterNodes: readonly RedisNode[] = [],
): Promise<ResolvedRedis> {
  if (clusterNodes.length > 0) {
    const url = clusterAddress(clusterNodes, configured ? credentialsOf(configured) : undefined);
    return { url, source: 'REDIS_CLUSTER_NODES' };
  }
  if (configured) return { url: configured, source: 'REDIS_URL' };
  if (await answersPing(6379)) return { url: 'redis://127.0.0.1:6379', source: 'local' };
  const binary = which('redis-server');
  if (!binary) throw new Error(INSTRUCTIONS);
  const dir = resolve(cwd, '.lorabot/redis');
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const child = spawn(
    binary,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--maxmemory-policy',
      'noeviction',
    ],
    { stdio: 'ignore' },
  );
  const deadline = Date.now() + 10_000;
  while (!(await answersPing(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`The private redis-server did not start (data dir ${dir}). ${INSTRUCTIONS}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `redis://127.0.0.1:${port}`, source: 'private', stop: () => stopChild(child) };
}

/** What a Redis URL says about how to reach any node: TLS (`rediss://`) and the user info before `@`. */
function credentialsOf(url: string): { tls: boolean; userInfo: string | undefined } {
  const match = /^(rediss?):\/\/(?:([^/?#]*)@)?/i.exec(url);
  return { tls: match?.[1]?.toLowerCase() === 'rediss', userInfo: match?.[2] || undefined };
}

function which(command: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Whether a Redis answers PING on 127.0.0.1:port (a raw RESP exchange, no client needed). */
export function answersPing(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.setTimeout(500);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      done(data.toString().startsWith('+PONG'));
    });
    socket.once('error', () => done(false));
    socket.once('timeout', () => {
      socket.destroy();
      done(false);
    });
  });
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null) return done();
    child.once('exit', () => done());
    child.kill('SIGTERM');
  });
}
