import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/queue/redis-url.js';
import { FakeSlack } from '../contract/fakes/fake-slack.js';
import { FakeTogether } from '../contract/fakes/fake-together.js';
import { decodeImage } from '../contract/fakes/test-images.js';
import { writeTestConfig } from '../helpers/lorabot-harness.js';
import { deleteByPrefix, redisUrl } from '../helpers/redis.js';
import { runCli } from '../helpers/run-cli.js';

let together: FakeTogether;
let slack: FakeSlack;
const prefix = `{lorabot-test-${randomUUID().slice(0, 8)}}`;
/** A queue and ledger of their own, for the budget test: nothing spent yet. */
const budgetPrefix = `{lorabot-test-${randomUUID().slice(0, 8)}}`;
let env: Record<string, string>;

const cli = (args: string[], extraEnv: Record<string, string> = {}, stopSignal?: Promise<void>) =>
  runCli(args, { ...env, ...extraEnv }, stopSignal ? { stopSignal } : {});

beforeAll(async () => {
  together = await new FakeTogether().start();
  slack = await new FakeSlack().start();
  env = {
    REDIS_URL: redisUrl(),
    TOGETHER_API_KEY: together.apiKey,
    TOGETHER_BASE_URL: together.baseUrl,
    LORABOT_CONFIG: writeTestConfig(prefix),
    LOG_LEVEL: 'silent',
  };
});

afterAll(async () => {
  await Promise.all([together.close(), slack.close()]);
  const redis = new Redis(redisUrl());
  await deleteByPrefix(redis, prefix);
  await deleteByPrefix(redis, budgetPrefix);
  redis.disconnect();
});

describe('lorabot run', () => {
  it('runs /flux through the queue and a worker, writes a decodable image and prints its cost', async () => {
    const { code, stdout, stderr, cwd } = await cli([
      'run',
      '/flux a panda --size 512x384',
      '--out',
      'images',
    ]);
    expect(code, stderr).toBe(0);
    expect(stderr).toMatch(/Queued/);
    expect(stderr).toMatch(/Running/);
    const lines = stdout.trim().split('\n');
    expect(lines.at(-1)).toBe('Cost: $0.035 (1 image × 1 MP × $0.035/MP)');
    const files = readdirSync(join(cwd, 'images'));
    expect(files).toHaveLength(1);
    expect(lines[0]).toBe(join(cwd, 'images', files[0]!));
    const bytes = readFileSync(join(cwd, 'images', files[0]!));
    expect(decodeImage(bytes)).toMatchObject({ width: 512, height: 384 });
    expect(Buffer.compare(bytes, together.generated.at(-1)!)).toBe(0);
  });

  it('prints an /ask answer and its cost', async () => {
    const { code, stdout } = await cli(['run', '/ask what is a LoRA?']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^You asked: what is a LoRA\?\nCost: \$0\.\d+ \(\d+ in \+ \d+ out tokens\)\n$/);
  });

  it('fails with the reason and exit 78 (configuration) when Together refuses the key', async () => {
    const { code, stderr } = await cli(['run', '/flux a panda'], { TOGETHER_API_KEY: 'wrong-key' });
    expect(code).toBe(78);
    expect(stderr).toMatch(/Failed: .*TOGETHER_API_KEY/);
    expect(stderr).not.toContain('wrong-key');
  });

  it('answers a bad command with exit 2 and queues nothing', async () => {
    const { code, stderr } = await cli(['run', '/flux a panda --n 9']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--n 9/);
  });

  it('goes through the inbound service: answers jobs and usage for the operator, with the same texts as chat', async () => {
    const jobs = await cli(['run', 'jobs']);
    expect(jobs).toMatchObject({ code: 0, stdout: 'You have no queued or running jobs.\n' });
    const usage = await cli(['run', '/flux usage']);
    expect(usage.code).toBe(0);
    // The operator's earlier runs in this file are in the ledger, under the operator.
    expect(usage.stdout).toMatch(/^You: \$0\.\d+ today, \$0\.\d+ this month\./);
    expect(usage.stdout).not.toMatch(/^You: \$0\.00 today/);
  });

  it('does not ask the operator to confirm, whatever the threshold; budgets still hold', async () => {
    const strict = writeTestConfig(
      budgetPrefix,
      'budgets:\n  confirm_above_usd: 0.01\n  user_per_day_usd: 0.05',
    );
    const run = await cli(['run', '/flux a quiet owl --size 256x256'], { LORABOT_CONFIG: strict });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Cost: \$0\.035 /);
    const over = await cli(['run', '/flux a second owl --size 256x256'], { LORABOT_CONFIG: strict });
    expect(over.code).toBe(2);
    expect(over.stderr).toMatch(/budget/i);
    expect(
      together.callsTo('/images/generations').map((c) => (c.body as { prompt: string }).prompt),
    ).not.toContain('a second owl');
  });
});

describe('lorabot doctor', () => {
  it('prints one line per check and exits 0 when everything works', async () => {
    const { code, stdout } = await cli(['doctor'], {
      SLACK_BOT_TOKEN: slack.botToken,
      SLACK_SIGNING_SECRET: 's',
      SLACK_API_URL: slack.apiUrl,
    });
    const lines = stdout.trim().split('\n');
    expect(
      lines.every((line) => /^(OK|WARN|FAIL)\s+\w+\s+\S/.test(line)),
      stdout,
    ).toBe(true);
    expect(lines.find((l) => l.includes('config'))).toMatch(/^OK/);
    expect(lines.filter((l) => /^OK\s+redis/.test(l))).toHaveLength(2);
    expect(lines.find((l) => l.includes('key accepted'))).toMatch(/^OK\s+together/);
    expect(lines.find((l) => l.includes('FLUX.2-dev'))).toMatch(
      /^OK\s+together\s+model black-forest-labs\/FLUX.2-dev \(image.model\) is listed as image/,
    );
    expect(lines.find((l) => /slack/.test(l))).toMatch(/^OK\s+slack\s+token works for team/);
    expect(lines.find((l) => /discord/.test(l))).toMatch(/^OK\s+discord\s+off/);
    expect(code).toBe(0);
  });

  it('fails with the fix when keys are wrong, and never prints them', async () => {
    const { code, stdout } = await cli(['doctor'], {
      TOGETHER_API_KEY: 'sk-bad-together-key',
      SLACK_BOT_TOKEN: 'xoxb-bad-slack-token',
      SLACK_SIGNING_SECRET: 's',
      SLACK_API_URL: slack.apiUrl,
    });
    expect(code).toBe(1);
    expect(stdout).toMatch(/^FAIL\s+together\s+.*TOGETHER_API_KEY/m);
    expect(stdout).toMatch(/^FAIL\s+slack\s+Slack rejected SLACK_BOT_TOKEN/m);
    expect(stdout).not.toContain('sk-bad-together-key');
    expect(stdout).not.toContain('xoxb-bad-slack-token');
  });

  it('warns, without failing, when the default size is billed for a megapixel it barely uses', async () => {
    const { code, stdout } = await cli(['doctor'], {
      LORABOT_CONFIG: writeTestConfig(
        prefix,
        'image:\n  defaults: { width: 1024, height: 1024, steps: 28, n: 1 }',
      ),
    });
    expect(stdout).toMatch(
      /^WARN\s+config\s+valid \(.+\); image\.defaults: 1024x1024 is billed as 2 MP; 1000x1000 costs \$0\.035 instead of \$0\.07\./m,
    );
    expect(code).toBe(0);
  });

  it('names every bad setting', async () => {
    const { code, stdout } = await cli(['doctor'], { PORT: 'many' });
    expect(code).toBe(1);
    expect(stdout).toMatch(/^FAIL\s+config\s+PORT/m);
  });
});

describe('lorabot start', () => {
  it('serves /healthz and stops cleanly with exit 0 when asked', async () => {
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => {
      stop = resolve;
    });
    const port = String(await freePort());
    const run = cli(['start'], { PORT: port, HOST: '127.0.0.1' }, stopped);
    let finished: Awaited<typeof run> | undefined;
    void run.then((result) => {
      finished = result;
    });
    let health: Response | undefined;
    for (let i = 0; i < 200 && !health && !finished; i++) {
      health = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
      if (!health) await new Promise((r) => setTimeout(r, 50));
    }
    expect(finished, finished?.stderr).toBeUndefined();
    expect(health?.status).toBe(200);
    expect(await health?.json()).toEqual({ status: 'ok', redis: 'ok' });
    stop();
    expect((await run).code).toBe(0);
  });
});
