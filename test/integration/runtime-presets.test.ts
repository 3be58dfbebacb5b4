import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/core/ports.js';
import { ModelRegistry, type StoredPreset } from '../../src/queue/model-registry.js';
import { createRedis, type RedisClient, waitReady } from '../../src/queue/redis-connection.js';
import { RedisKeys } from '../../src/queue/redis-keys.js';
import { type Harness, startHarness } from '../helpers/lorabot-harness.js';
import { PrivateRedis } from '../helpers/private-redis.js';
import { ON_EACH_REDIS, redisAddress } from '../helpers/redis.js';
import { spawnTsx } from '../helpers/tsx-process.js';
import { waitFor } from '../helpers/wait.js';

const TUNED = 'lorabot-team/llama-tarot-ft';
const BASE_CHAT = 'meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo';

/** `lorabot models …` as its own process, as an operator runs it beside a running gateway. */
function modelsProcess(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const { child, output } = spawnTsx('src/main.ts', ['models', ...args], env);
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code: code ?? -1, output: output() }));
  });
}

describe('runtime presets reach a running gateway without Redis on the ack path', () => {
  let redis: PrivateRedis;
  let h: Harness;
  let env: Record<string, string>;

  beforeAll(async () => {
    redis = await new PrivateRedis().start();
    h = await startHarness({ redisUrl: redis.url, together: { chatModels: [BASE_CHAT, TUNED] } });
    env = { REDIS_URL: redis.url, LORABOT_CONFIG: h.configPath };
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    await redis?.destroy();
  });

  /** How a `/ask --model` for `name` is answered in the ack: '' once accepted, else the refusal. */
  const ask = async (name: string, question: string) =>
    h.slash({ command: '/ask', text: `--model ${name} ${question}` });

  it('a preset `lorabot models add` stores in another process is usable within a second; removed, likewise', async () => {
    const added = await modelsProcess(
      ['add', '--name', 'tarot-live', '--id', TUNED, '--max-tokens', '200'],
      env,
    );
    expect(added).toMatchObject({ code: 0 });
    const afterAdd = performance.now();
    await waitFor(
      'the gateway to accept the new preset',
      async () => (await ask('tarot-live', 'hi?')).text === '',
      1000,
    );
    const addMs = performance.now() - afterAdd;
    const call = await waitFor('the chat call', () => h.together.callsTo('/chat/completions')[0]);
    expect(call.body).toMatchObject({ model: TUNED, max_tokens: 200 });

    expect(await modelsProcess(['remove', 'tarot-live'], env)).toMatchObject({ code: 0 });
    const afterRemove = performance.now();
    const refused = await waitFor(
      'the gateway to refuse the removed preset',
      async () => (await ask('tarot-live', 'still there?')).text.includes('Unknown model'),
      1000,
    );
    const removeMs = performance.now() - afterRemove;
    expect(refused).toBe(true);
    console.info(`usable ${addMs.toFixed(0)} ms after add, refused ${removeMs.toFixed(0)} ms after remove`);
  }, 60_000);

  it('acks a command for a runtime preset at once while Redis stalls', async () => {
    expect(await modelsProcess(['add', '--name', 'tarot-stall', '--id', TUNED], env)).toMatchObject({
      code: 0,
    });
    await waitFor('the preset', async () => (await ask('tarot-stall', 'warm?')).text === '', 1000);
    const admin = new Redis(redis.url);
    try {
      const chats = h.together.callsTo('/chat/completions').length;
      // Every other client's commands wait 3 s: presets, claims and the queue cannot answer meanwhile.
      await admin.call('CLIENT', 'PAUSE', '3000', 'ALL');
      const stalled = await ask('tarot-stall', 'while Redis stalls?');
      console.info(`acked in ${stalled.ackMs.toFixed(0)} ms with Redis paused for 3000 ms`);
      expect(stalled).toMatchObject({ status: 200, text: '' });
      expect(stalled.ackMs).toBeLessThan(200);
      const call = await waitFor(
        'the chat call after the stall',
        () => h.together.callsTo('/chat/completions')[chats],
        20_000,
      );
      expect(call.body).toMatchObject({ model: TUNED });
    } finally {
      admin.disconnect();
    }
  }, 60_000);

  it('reads the presets in full when its subscription is made again, so a change it missed heals', async () => {
    const keys = new RedisKeys(`{lorabot-test-${randomUUID().slice(0, 8)}}`);
    const connection = createRedis(redis.url, 'producer', 'test-models');
    await waitReady(connection);
    const registry = new ModelRegistry(connection, keys);
    const admin = new Redis(redis.url);
    await admin.hset(keys.chatPresets(), 'first', JSON.stringify(preset('first')));
    // A backstop far beyond the test: only the new subscription can find the preset.
    const unfollow = registry.follow(silent, 600_000);
    try {
      // Read once subscribed.
      await waitFor('the first read', () => registry.models().first, 2000);
      await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
      // Written with no message at all, while the listener is away.
      await admin.hset(keys.chatPresets(), 'healed', JSON.stringify(preset('healed')));
      const healed = await waitFor('the missed preset', () => registry.models().healed, 2000);
      expect(healed).toMatchObject({ id: 'team/healed' });
    } finally {
      unfollow();
      await admin.del(keys.chatPresets());
      admin.disconnect();
      connection.disconnect();
    }
  });
});

describe.each(ON_EACH_REDIS)(
  'a runtime preset added or removed by one process, heard by another on $where',
  ({ kind }) => {
    const keys = new RedisKeys(`{lorabot-test-${randomUUID().slice(0, 8)}}`);
    let writer: RedisClient;
    let reader: RedisClient;

    beforeAll(async () => {
      writer = createRedis(redisAddress(kind), 'worker', 'test-models-writer');
      reader = createRedis(redisAddress(kind), 'producer', 'test-models-reader');
      await Promise.all([waitReady(writer, 10_000), waitReady(reader, 10_000)]);
    });

    afterAll(async () => {
      await writer.del(keys.chatPresets());
      writer.disconnect();
      reader.disconnect();
    });

    it('within a second, with no periodic read in between', async () => {
      const following = new ModelRegistry(reader, keys);
      await writer.hset(keys.chatPresets(), 'first', JSON.stringify(preset('first')));
      const unfollow = following.follow(silent, 600_000);
      try {
        const other = new ModelRegistry(writer, keys);
        // The follower reads in full once subscribed: from then on it hears each change.
        await waitFor('the first read', () => following.models().first, 10_000);
        expect(await other.add(preset('cluster-tarot'))).toBe(true);
        const added = performance.now();
        await waitFor('the added preset', () => following.models()['cluster-tarot'], 1000);
        const addMs = performance.now() - added;
        expect(await other.remove('cluster-tarot')).toBe(true);
        await waitFor('the removal', () => !following.models()['cluster-tarot'], 1000);
        console.info(`${kind}: heard the add after ${addMs.toFixed(0)} ms`);
      } finally {
        unfollow();
      }
    });
  },
);

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

function preset(name: string): StoredPreset {
  return { name, id: `team/${name}`, maxTokens: 100, pricing: { kind: 'auto' }, addedBy: 'test' };
}
