import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/adapters/logging/logger.js';
import { main } from '../../src/cli/cli.js';
import { startLorabot } from '../../src/cli/runtime.js';
import { loadConfig } from '../../src/config/index.js';
import { readFailedReason } from '../../src/core/job-failure.js';
import { Ledger } from '../../src/queue/ledger.js';
import { QUEUE_NAMES } from '../../src/queue/queue-names.js';
import { RedisKeys } from '../../src/queue/redis-keys.js';
import { FakeTogether } from '../contract/fakes/fake-together.js';
import { decodeImage } from '../contract/fakes/test-images.js';
import { type DiscordHarness, startDiscordHarness } from '../helpers/discord-harness.js';
import { type Harness, startHarness, waitForFailure, writeTestConfig } from '../helpers/lorabot-harness.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { deleteByPrefix, redisUrl } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The worlds a team's Together key may live in (the model takes LoRAs or refuses them, needs data sharing, is
 * gone; the key is missing or rejected), each end to end: one message to the requester, one Together call at most
 * (no retry by the client or the queue, which would try 3 times), $0 in the ledger, and a log line naming the key.
 */

const FLUX2 = 'black-forest-labs/FLUX.2-dev';
const FLUX2_PRO = 'black-forest-labs/FLUX.2-pro';
const OLD_LORA = 'black-forest-labs/FLUX.1-dev-lora';
const month = () => new Date().toISOString().slice(0, 7);

const chatPresets = [
  'chat:',
  '  models:',
  '    default: { id: meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo, max_tokens: 256, pricing: null }',
  '    qwen: { id: Qwen/Qwen3.8-Flash, max_tokens: 256, pricing: null }',
  '    retired: { id: acme/retired-chat, max_tokens: 256, pricing: null }',
];

describe('on Slack', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({
      configExtra: ['image:', `  model: ${FLUX2}`, ...chatPresets].join('\n'),
      together: {
        loraRefusingModels: [FLUX2],
        dataSharingBlockedModels: ['Qwen/Qwen3.8-Flash'],
        goneModels: ['acme/retired-chat'],
      },
    });
  });

  afterAll(async () => {
    await h.close();
  });

  /** Runs a command that fails; returns the one notice and the failed job. */
  async function failing(channel: string, command: '/flux' | '/ask', text: string) {
    await h.slash({ channel_id: channel, command, text });
    const { parent, notice } = await waitForFailure(h, channel, command, 15_000);
    // Time for a retry that should not come.
    await new Promise((r) => setTimeout(r, 400));
    expect(h.slack.thread(channel, parent.ts).filter((m) => m.text.startsWith('<@U0PANDA>'))).toHaveLength(1);
    const queue = command === '/flux' ? h.running.producer!.queues.image : h.running.producer!.queues.chat;
    const job = (await queue.getFailed()).find(
      (j) => j.data.target.platform === 'slack' && j.data.target.channelId === channel,
    );
    expect(job?.attemptsMade).toBe(1);
    const ledger = h.running.workers!.ledgerView;
    expect(await ledger.total('channel', `slack:${h.slack.teamId}:${channel}`, 'month', month())).toBe(0);
    return { notice: notice.text, failed: readFailedReason(job!.failedReason) };
  }

  const togetherCalls = (marker: string) =>
    h.together.calls.filter((call) => JSON.stringify(call.body ?? '').includes(marker));
  const logged = (needle: string) =>
    h.logs.some((line) => line.includes('"job failed"') && line.includes(needle));

  it('says the image model does not take LoRAs, names image.model, and does not retry', async () => {
    const { notice, failed } = await failing(
      'C0W1',
      '/flux',
      'a red fox in snow --lora tarot --size 256x256',
    );
    expect(notice).toContain(
      `This image model (\`${FLUX2}\`) does not take LoRAs on Together (Together answered: image_loras is not supported). ` +
        'Run the prompt without --lora, or an admin can set image.model to a LoRA-capable model, or to a ' +
        'dedicated endpoint that serves the model with LoRA adapters.',
    );
    expect(failed.code).toBe('loras_not_supported');
    expect(togetherCalls('a red fox in snow')).toHaveLength(1);
    expect(logged(`image.model (${FLUX2}) does not take image_loras`)).toBe(true);
  });

  it('tells the organization what to enable when a chat model needs data sharing', async () => {
    const { notice, failed } = await failing('C0W2', '/ask', 'what is a passthrough model? --model qwen');
    expect(notice).toContain(
      'needs third-party data sharing, which this Together organization has turned off',
    );
    expect(notice).toContain('"Allow my organization to use passthrough models" under Privacy');
    expect(notice).toContain('set chat.models.qwen.id to another model');
    expect(failed.code).toBe('data_sharing_blocked');
    expect(togetherCalls('what is a passthrough model?')).toHaveLength(1);
    expect(logged('chat.models.qwen.id (Qwen/Qwen3.8-Flash) needs third-party data sharing')).toBe(true);
  });

  it('says a chat preset’s model is no longer served and names chat.models.<name>.id', async () => {
    const { notice, failed } = await failing('C0W3', '/ask', 'are you still there? --model retired');
    expect(notice).toContain('The chat model `acme/retired-chat` is no longer served by Together');
    expect(notice).toContain('An admin can set chat.models.retired.id to a model Together serves now');
    expect(failed.code).toBe('model_unavailable');
    expect(togetherCalls('are you still there?')).toHaveLength(1);
    expect(logged('chat.models.retired.id (acme/retired-chat) is not served by Together')).toBe(true);
  });

  it('delivers a JPEG by default, named lorabot-<seed>.jpg, and asks Together for output_format jpeg', async () => {
    const channel = 'C0W4';
    await h.slash({ channel_id: channel, command: '/flux', text: 'a plain fox --size 256x256 --seed 5' });
    const file = await waitFor('the upload', () => h.slack.files.find((f) => f.channel === channel));
    expect(file.filename).toBe('lorabot-5.jpg');
    expect([...file.bytes.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
    expect(decodeImage(file.bytes)).toEqual({ width: 256, height: 256, format: 'jpeg' });
    const [call] = h.together.calls.filter((c) => JSON.stringify(c.body).includes('a plain fox'));
    expect(call!.body).toMatchObject({ model: FLUX2, output_format: 'jpeg' });
    expect(call!.body).not.toHaveProperty('image_loras');
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(call!.headers['user-agent']).toBe(`lorabot/${version}`);
  });
});

describe('on Discord with image.output_format: png', () => {
  let h: DiscordHarness;
  const USER = '222222222222222222';

  beforeAll(async () => {
    h = await startDiscordHarness({ configExtra: 'image:\n  output_format: png' });
  });

  afterAll(async () => {
    await h.close();
  });

  it('asks Together for png and uploads lorabot-<seed>-<n>.png as image/png', async () => {
    h.discord.sendCommand({
      name: 'flux',
      userId: USER,
      options: [
        { name: 'prompt', type: 3, value: 'a green owl' },
        { name: 'size', type: 3, value: '256x256' },
        { name: 'seed', type: 4, value: 9 },
        { name: 'n', type: 4, value: 2 },
      ],
    });
    const upload = await waitFor('the upload', () => h.discord.calls.find((c) => c.files.length > 0));
    expect(upload.files.map((f) => [f.name, f.type])).toEqual([
      ['lorabot-9-1.png', 'image/png'],
      ['lorabot-9-2.png', 'image/png'],
    ]);
    for (const file of upload.files) {
      expect([...file.bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      expect(decodeImage(file.bytes)).toEqual({ width: 256, height: 256, format: 'png' });
    }
    const [call] = h.together.callsTo('/images/generations');
    expect(call!.body).toMatchObject({ output_format: 'png', seed: 9, n: 2 });
    expect(call!.schemaErrors).toEqual([]);
  });
});

describe('through lorabot run', () => {
  let together: FakeTogether;
  const prefixes: string[] = [];

  beforeAll(async () => {
    together = await new FakeTogether({
      imageModels: [FLUX2, FLUX2_PRO, OLD_LORA],
      dataSharingBlockedModels: [FLUX2_PRO],
      goneModels: [OLD_LORA],
    }).start();
  });

  afterAll(async () => {
    await together.close();
    const redis = new Redis(redisUrl());
    for (const prefix of prefixes) await deleteByPrefix(redis, prefix);
    redis.disconnect();
  });

  /** `lorabot run` with its own queue prefix (so its own in-process worker) and the given model and key. */
  async function run(
    prompt: string,
    options: { model: string; apiKey: string | undefined; workerElsewhere?: boolean },
  ) {
    const prefix = `{lorabot-test-${randomUUID().slice(0, 8)}}`;
    prefixes.push(prefix);
    let stdout = '';
    let stderr = '';
    const env = {
      REDIS_URL: redisUrl(),
      TOGETHER_API_KEY: options.apiKey,
      TOGETHER_BASE_URL: together.baseUrl,
      LORABOT_CONFIG: writeTestConfig(prefix, `image:\n  model: ${options.model}`),
      LOG_LEVEL: 'error',
    };
    const cwd = mkdtempSync(join(tmpdir(), 'lorabot-worlds-'));
    // A worker in another process of the deployment (here: started apart), so `lorabot run` queues the job for it.
    const workerLogs: string[] = [];
    const elsewhere = options.workerElsewhere ? await startWorker(env, cwd, workerLogs) : undefined;
    const code = await main(['run', `/flux ${prompt} --size 256x256`], {
      stdout: (t) => {
        stdout += t;
      },
      stderr: (t) => {
        stderr += t;
      },
      env,
      cwd,
    }).finally(() => elsewhere?.close());
    const redis = new Redis(redisUrl());
    const queue = new Queue(QUEUE_NAMES.image, { connection: redis, prefix });
    const [job] = await queue.getFailed();
    const entries = await new Ledger(redis, new RedisKeys(prefix)).entries(month());
    await queue.close();
    redis.disconnect();
    const calls = together.calls.filter((c) => JSON.stringify(c.body ?? '').includes(prompt));
    return { code, stdout, stderr, job, entries, calls, workerLogs: workerLogs.join('') };
  }

  /** A worker-only lorabot, as `lorabot worker` runs it, on the given environment; `logs` gathers its log lines. */
  async function startWorker(env: Record<string, string | undefined>, cwd: string, logs: string[]) {
    const config = loadConfig({ env, cwd });
    if (!config.success) throw new Error(config.error.message);
    const sink = new Writable({
      write(chunk, _encoding, done) {
        logs.push(String(chunk));
        done();
      },
    });
    return startLorabot(config.data, {
      gateway: false,
      worker: true,
      logger: createLogger('info', sink),
      cwd,
    });
  }

  /** One failure line, the job tried once and failed with the code, nothing charged. */
  function expectOneFailure(result: Awaited<ReturnType<typeof run>>, code: string, message: string) {
    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n').filter((line) => line.startsWith('Failed: '))).toEqual([
      `Failed: ${message}`,
    ]);
    expect(result.job?.attemptsMade).toBe(1);
    expect(readFailedReason(result.job!.failedReason)).toEqual({ code, reason: message });
    expect(result.entries).toEqual([]);
  }

  it('fails once, without calling Together, when a worker without TOGETHER_API_KEY takes the job', async () => {
    const result = await run('a keyless heron', { model: FLUX2, apiKey: undefined, workerElsewhere: true });
    expectOneFailure(
      result,
      'not_configured',
      'The bot has no Together API key. An operator needs to set TOGETHER_API_KEY.',
    );
    expect(result.code).toBe(78);
    expect(result.calls).toHaveLength(0);
    expect(result.workerLogs).toMatch(/TOGETHER_API_KEY is not set/);
  });

  it('fails once when Together rejects the key (401)', async () => {
    const result = await run('a rejected heron', { model: FLUX2, apiKey: 'sk-not-the-key-0000' });
    expectOneFailure(
      result,
      'unauthorized',
      "Together rejected the bot's API key. An operator needs to check TOGETHER_API_KEY.",
    );
    expect(result.calls).toHaveLength(1);
    expect(result.stderr).toContain('check TOGETHER_API_KEY');
    expect(result.stderr).not.toContain('sk-not-the-key-0000');
  });

  it('fails once when the image model needs third-party data sharing (403)', async () => {
    const result = await run('a shared heron', { model: FLUX2_PRO, apiKey: together.apiKey });
    expect(result.job).toBeDefined();
    const { reason } = readFailedReason(result.job!.failedReason);
    expect(reason).toMatch(
      /^Together will not run the image model `black-forest-labs\/FLUX\.2-pro` for this account/,
    );
    expect(reason).toContain('set image.model to another model');
    expectOneFailure(result, 'data_sharing_blocked', reason);
    expect(result.calls).toHaveLength(1);
    expect(result.stderr).toContain(`image.model (${FLUX2_PRO}) needs third-party data sharing`);
  });

  it('fails once when the image model is no longer served (non-serverless)', async () => {
    const result = await run('a retired heron', { model: OLD_LORA, apiKey: together.apiKey });
    expect(result.job).toBeDefined();
    const { reason } = readFailedReason(result.job!.failedReason);
    expect(reason).toMatch(
      /^The image model `black-forest-labs\/FLUX\.1-dev-lora` is no longer served by Together/,
    );
    expect(reason).toContain('An admin can set image.model to a model Together serves now');
    expectOneFailure(result, 'model_unavailable', reason);
    expect(result.calls).toHaveLength(1);
    expect(result.stderr).toContain(`image.model (${OLD_LORA}) is not served by Together`);
  });
});
