import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { writeTestConfig } from '../helpers/lorabot-harness.js';
import { redisAddress } from '../helpers/redis.js';
import { runCli } from '../helpers/run-cli.js';

const prefix = `{lorabot-test-${randomUUID().slice(0, 8)}}`;
const env = { REDIS_URL: redisAddress('single'), LORABOT_CONFIG: writeTestConfig(prefix) };

describe('lorabot models list|add|remove', () => {
  afterAll(async () => {
    await runCli(['models', 'remove', 'tarot-llama'], env);
  });

  it('adds a preset to Redis, lists it beside the config, refuses clashes and bad values, and removes it', async () => {
    const added = await runCli(
      ['models', 'add', '--name', 'tarot-llama', '--id', 'team/llama-tarot', '--max-tokens', '300'],
      env,
    );
    expect(added).toMatchObject({ code: 0 });
    expect(added.stdout).toContain('/ask --model tarot-llama');
    const listed = await runCli(['models', 'list'], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^default\t.*\tconfig$/m);
    expect(listed.stdout).toMatch(/^tarot-llama\tteam\/llama-tarot\tadded by cli$/m);
    expect(await runCli(['models', 'add', '--name', 'tarot-llama', '--id', 'x/y'], env)).toMatchObject({
      code: 1,
    });
    const clash = await runCli(['models', 'add', '--name', 'default', '--id', 'x/y'], env);
    expect(clash.code).toBe(2);
    expect(clash.stderr).toContain('is a model in the config file');
    expect(
      (await runCli(['models', 'add', '--name', 'ok', '--id', 'x/y', '--max-tokens', 'lots'], env)).code,
    ).toBe(2);
    expect((await runCli(['models', 'add', '--name', 'ok'], env)).code).toBe(2);
    expect(await runCli(['models', 'remove', 'tarot-llama'], env)).toMatchObject({ code: 0 });
    expect(await runCli(['models', 'remove', 'tarot-llama'], env)).toMatchObject({ code: 1 });
  });
});
