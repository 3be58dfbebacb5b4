import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { answersPing } from '../../src/queue/redis-url.js';

const run = promisify(execFile);

/**
 * A real Redis Cluster of `masters` masters (no replicas) on loopback, for the tests: one `redis-server
 * --cluster-enabled yes` per node, each with its own data dir and AOF, joined by `redis-cli --cluster create`.
 * `start()` returns once every node says `cluster_state:ok`.
 */
export class LocalRedisCluster {
  readonly dir = mkdtempSync(join(tmpdir(), 'lorabot-test-cluster-'));
  ports: number[] = [];
  private children: ChildProcess[] = [];
  private output = '';

  constructor(private readonly masters = 3) {}

  /** `host:port,host:port,…`, as REDIS_CLUSTER_NODES takes it. */
  get nodes(): string {
    return this.ports.map((port) => `127.0.0.1:${port}`).join(',');
  }

  async start(): Promise<this> {
    try {
      await this.spawnNodes();
      await run(
        'redis-cli',
        ['--cluster', 'create', ...this.ports.map((p) => `127.0.0.1:${p}`), '--cluster-yes'],
        { timeout: 30_000 },
      );
      await this.waitFor((info) => info.includes('cluster_state:ok'));
      return this;
    } catch (error) {
      await this.stop();
      throw new Error(
        `the test Redis Cluster did not start: ${String(error)}. It needs redis-server and redis-cli ` +
          '(Debian/Ubuntu: sudo apt-get install -y redis-server redis-tools; macOS: brew install redis), or set ' +
          `REDIS_CLUSTER_NODES to a cluster you run.\n${this.output.slice(-2000)}`,
      );
    }
  }

  /** Starts the nodes without joining them: a cluster with no slots served (`cluster_state:fail`). */
  async spawnNodes(): Promise<this> {
    for (let i = 0; i < this.masters; i++) this.ports.push(await clusterPort(this.ports));
    for (const port of this.ports) {
      const dir = join(this.dir, String(port));
      mkdirSync(dir);
      const child = spawn(
        'redis-server',
        [
          ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dir],
          ...['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`],
          ...['--appendonly', 'yes', '--save', '', '--maxmemory-policy', 'noeviction'],
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child.stdout?.on('data', (chunk: Buffer) => {
        this.output += chunk.toString();
      });
      child.stderr?.on('data', (chunk: Buffer) => {
        this.output += chunk.toString();
      });
      this.children.push(child);
    }
    const deadline = Date.now() + 10_000;
    for (const port of this.ports) {
      while (!(await answersPing(port))) {
        if (Date.now() > deadline) throw new Error(`node ${port} did not answer PING`);
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    return this;
  }

  /** Stops every node and deletes their data. */
  async stop(): Promise<void> {
    await Promise.all(this.children.map(stopChild));
    this.children = [];
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async waitFor(ready: (clusterInfo: string) => boolean): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const infos = await Promise.all(
        this.ports.map((p) => run('redis-cli', ['-p', String(p), 'cluster', 'info']).then((r) => r.stdout)),
      );
      if (infos.every(ready)) return;
      if (Date.now() > deadline) throw new Error(`cluster not ready:\n${infos.join('\n')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/**
 * A free loopback port whose cluster bus port (port + 10000, the default every Redis version uses) is free too,
 * and not one of `taken`.
 */
async function clusterPort(taken: number[]): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const port = 20_000 + Math.floor(Math.random() * 35_000);
    const clash = taken.some((t) => [t, t + 10_000].some((used) => used === port || used === port + 10_000));
    if (clash) continue;
    if ((await isFree(port)) && (await isFree(port + 10_000))) return port;
  }
  throw new Error('no free port pair for a Redis Cluster node');
}

function isFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      done();
    });
    child.kill('SIGTERM');
  });
}
