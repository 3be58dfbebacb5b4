import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/adapters/logging/logger.js';
import { type Io, main } from '../../src/cli/cli.js';
import { type Running, startLorabot } from '../../src/cli/runtime.js';
import { loadConfig } from '../../src/config/index.js';
import { writeTestConfig } from '../helpers/lorabot-harness.js';
import { deleteByPrefix, redisUrl } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

/** Runs the CLI in-process with exactly these variables (no others), as a user would from an empty shell. */
function cli(args: string[], env: Record<string, string>, extra: Partial<Io> = {}) {
  const out = { stdout: '', stderr: '' };
  const cwd = mkdtempSync(join(tmpdir(), 'lorabot-first-run-'));
  const done = main(args, {
    stdout: (t) => {
      out.stdout += t;
    },
    stderr: (t) => {
      out.stderr += t;
    },
    env,
    cwd,
    ...extra,
  });
  return { out, done };
}

let redis: Redis;

beforeAll(() => {
  redis = new Redis(redisUrl());
});

afterAll(() => {
  redis.disconnect();
});

describe('lorabot start with nothing configured', () => {
  // The default key prefix: delete afterwards only what this test added under it.
  const defaultPrefix = '{lorabot}';
  let before: Set<string>;

  beforeAll(async () => {
    before = new Set(await redis.keys(`${defaultPrefix}*`));
  });

  afterAll(async () => {
    const added = (await redis.keys(`${defaultPrefix}*`)).filter((key) => !before.has(key));
    if (added.length > 0) await redis.unlink(...added);
  });

  it('prints the summary once: what is off and how to turn it on, the playground URL, the doctor', async () => {
    let stop!: () => void;
    const stopSignal = new Promise<void>((resolve) => {
      stop = resolve;
    });
    const run = cli(['start'], { REDIS_URL: redisUrl(), PORT: '0', HOST: '127.0.0.1' }, { stopSignal });
    await waitFor('the start-up summary', () => run.out.stdout.includes('Run `lorabot doctor`'));
    const { stdout } = run.out;
    // Not a terminal: log lines are JSON, the summary is plain text between them.
    const text = stdout
      .split('\n')
      .filter((line) => !line.startsWith('{'))
      .join('\n');
    expect(text).toMatch(/^lorabot start: gateway and worker in one process\.\n\nOn:\n/);
    const playground =
      /^ {2}Web playground +(http:\/\/127\.0\.0\.1:(\d+))\/ \(this machine only, no login\)$/m.exec(text);
    expect(playground, text).not.toBeNull();
    expect(Number(playground![2])).toBeGreaterThan(0);
    expect(text).toMatch(/^ {2}Worker +up to 2 image and 8 chat jobs at once$/m);
    expect(text).toMatch(/^ {2}Redis +\S+ \(from REDIS_URL\)$/m);
    expect(text).toContain(`${redisUrl()} (from REDIS_URL)`);
    const off = text.slice(text.indexOf('Off (set these to turn on):'));
    expect(off).toMatch(
      /^ {2}Slack +SLACK_BOT_TOKEN \+ SLACK_SIGNING_SECRET .*SLACK_APP_TOKEN \(Socket Mode\)$/m,
    );
    expect(off).toMatch(/^ {2}Discord +DISCORD_TOKEN \+ DISCORD_APPLICATION_ID$/m);
    expect(off).toMatch(/^ {2}Together +TOGETHER_API_KEY \(for https:\/\/api\.together\.ai\/v1\)/m);
    expect(text.trimEnd().endsWith('Run `lorabot doctor` to check everything.')).toBe(true);
    expect(stdout.split('lorabot start:')).toHaveLength(2);
    for (const line of stdout.split('\n').filter((l) => l.startsWith('{'))) {
      expect(() => JSON.parse(line)).not.toThrow();
    }

    const response = await fetch(`${playground![1]}/healthz`);
    expect(response.status).toBe(200);
    stop();
    expect(await run.done).toBe(0);
  });

  it('worker: prints its shorter summary', async () => {
    let stop!: () => void;
    const stopSignal = new Promise<void>((resolve) => {
      stop = resolve;
    });
    const run = cli(['worker'], { REDIS_URL: redisUrl(), LOG_FORMAT: 'pretty' }, { stopSignal });
    await waitFor('the start-up summary', () => run.out.stdout.includes('Run `lorabot doctor`'));
    stop();
    expect(await run.done).toBe(0);
    const { stdout } = run.out;
    expect(stdout).toMatch(/^lorabot worker: runs queued jobs and delivers the results\.$/m);
    expect(stdout).not.toMatch(/healthz|Queue board/);
    // LOG_FORMAT=pretty: no JSON lines even though this is not a terminal.
    expect(stdout).toMatch(/^\[[\d:.]+\] INFO: worker started /m);
    expect(stdout).not.toMatch(/^\{/m);
  });
});

describe('lorabot run without TOGETHER_API_KEY', () => {
  const prefix = `{lorabot-test-${randomUUID().slice(0, 8)}}`;
  const configPath = writeTestConfig(prefix);
  const env = { REDIS_URL: redisUrl(), LORABOT_CONFIG: configPath, LOG_LEVEL: 'silent' };

  afterAll(async () => {
    await deleteByPrefix(redis, prefix);
  });

  it('with no worker running: stops at once with exit 78 naming the variable, and queues nothing', async () => {
    const started = performance.now();
    const run = cli(['run', '/flux a panda'], env);
    const code = await run.done;
    const elapsedMs = performance.now() - started;
    expect(code, run.out.stderr).toBe(78);
    expect(run.out.stderr).toMatch(
      /^TOGETHER_API_KEY is not set, .*nothing was queued\. Set TOGETHER_API_KEY/,
    );
    expect(run.out.stdout).toBe('');
    expect(elapsedMs).toBeLessThan(2000);
    // No job, job id or queue list was written: only the queues' metadata exists.
    const keys = await redis.keys(`${prefix}*`);
    expect(keys.filter((key) => !key.endsWith(':meta'))).toEqual([]);
  });

  describe('with a worker elsewhere that has no key either', () => {
    let worker: Running;

    beforeAll(async () => {
      const loaded = loadConfig({ env: { LORABOT_CONFIG: configPath }, cwd: tmpdir() });
      if (!loaded.success) throw new Error(loaded.error.message);
      worker = await startLorabot(loaded.data, {
        gateway: false,
        worker: true,
        logger: createLogger('silent'),
        cwd: tmpdir(),
        redis: { url: redisUrl(), source: 'REDIS_URL' },
      });
    });

    afterAll(async () => {
      await worker.close();
    });

    it("exits 78 with the worker's message once the job fails for the key", async () => {
      const run = cli(['run', '/ask what is a LoRA?'], env);
      const code = await run.done;
      expect(code, run.out.stderr).toBe(78);
      expect(run.out.stderr).toMatch(/^Queued \(position \d+\)$/m);
      const failures = run.out.stderr.split('\n').filter((line) => line.startsWith('Failed:'));
      expect(failures).toEqual([expect.stringMatching(/^Failed: .*TOGETHER_API_KEY/)]);
      expect(run.out.stderr).not.toMatch(/No lorabot worker is running/);
    });
  });
});
