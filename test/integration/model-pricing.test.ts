import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TogetherClient } from '../../src/adapters/together/together-client.js';
import { planCommand } from '../../src/app/command-plan.js';
import { loadConfig } from '../../src/config/index.js';
import { parseCommandLine } from '../../src/core/command-parser.js';
import type { Logger } from '../../src/core/ports.js';
import type { LedgerEntry } from '../../src/queue/ledger.js';
import { SharedPriceList } from '../../src/queue/price-list.js';
import { RedisKeys } from '../../src/queue/redis-keys.js';
import { FakeTogether, modelInfo } from '../contract/fakes/fake-together.js';
import { writeTestConfig } from '../helpers/lorabot-harness.js';
import { deleteByPrefix, redisUrl } from '../helpers/redis.js';
import { runCli } from '../helpers/run-cli.js';
import { waitFor } from '../helpers/wait.js';

const ENDPOINT_IMAGE = 'acme/flux-lora-endpoint';
const ENDPOINT_ADAPTER = 'acme-endpoint:support-adapter';
const AUTO_MODEL = 'acme/Llama-3.3-70B-Instruct-auto';
const UNPRICED_MODEL = 'acme/brand-new-model';

let together: FakeTogether;
const prefixes: string[] = [];
const redis = new Redis(redisUrl(), { lazyConnect: true });

/** A config with its own queue prefix, so each test has its own queue, ledger and price cache. */
function config(extra: string[]): { path: string; prefix: string } {
  const prefix = `{lorabot-test-${randomUUID().slice(0, 8)}}`;
  prefixes.push(prefix);
  return { path: writeTestConfig(prefix, extra.join('\n')), prefix };
}

const cli = (args: string[], configPath: string) =>
  runCli(args, {
    REDIS_URL: redisUrl(),
    TOGETHER_API_KEY: together.apiKey,
    TOGETHER_BASE_URL: together.baseUrl,
    LORABOT_CONFIG: configPath,
    LOG_LEVEL: 'silent',
  });

async function ledger(prefix: string): Promise<LedgerEntry[]> {
  const month = new Date().toISOString().slice(0, 7);
  const entries = await redis.lrange(new RedisKeys(prefix).ledgerEntries(month), 0, -1);
  return entries.map((e) => JSON.parse(e) as LedgerEntry);
}

const chatModels = (...models: string[]) => ['chat:', '  models:', ...models.map((m) => `    ${m}`)];

beforeAll(async () => {
  await redis.connect();
  together = await new FakeTogether({
    listedModels: [
      modelInfo('black-forest-labs/FLUX.2-dev', 'image'),
      modelInfo('meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo', 'chat', { input: 0.18, output: 0.18 }),
      modelInfo(AUTO_MODEL, 'chat', { input: 0.88, output: 0.88 }),
      modelInfo(UNPRICED_MODEL, 'chat'),
      modelInfo('acme/embedder', 'embedding', { input: 0.01 }),
    ],
    chatModels: ['meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo', AUTO_MODEL, UNPRICED_MODEL],
    dedicatedModels: [
      { id: ENDPOINT_IMAGE, type: 'image' },
      { id: ENDPOINT_ADAPTER, type: 'chat' },
    ],
  }).start();
});

afterAll(async () => {
  await together.close();
  for (const prefix of prefixes) await deleteByPrefix(redis, prefix);
  redis.disconnect();
});

describe('a dedicated endpoint as the image model', () => {
  it('sends the endpoint’s model name, and bills per minute of uptime: $0 in the ledger, with the reason', async () => {
    const { path, prefix } = config([
      'image:',
      `  model: ${ENDPOINT_IMAGE}`,
      '  pricing: { billed: per_minute }',
    ]);
    const { code, stdout, stderr } = await cli(['run', '/flux a lighthouse --size 512x512'], path);
    expect(code, stderr).toBe(0);
    expect(stdout.trim().split('\n').at(-1)).toBe(
      'Cost: billed per minute of endpoint uptime (dedicated endpoint)',
    );
    const call = together.callsTo('/images/generations').at(-1)!;
    expect(call.body).toMatchObject({ model: ENDPOINT_IMAGE, prompt: 'a lighthouse' });
    expect(call.schemaErrors).toEqual([]);
    const [entry] = await ledger(prefix);
    expect(entry).toMatchObject({
      model: ENDPOINT_IMAGE,
      micros: 0,
      status: 'charged',
      costText: 'Cost: billed per minute of endpoint uptime (dedicated endpoint)',
    });
  });

  it('prices each image at the configured per-image price', async () => {
    const { path, prefix } = config([
      'image:',
      `  model: ${ENDPOINT_IMAGE}`,
      '  pricing: { usd_per_image: 0.025 }',
    ]);
    const { code, stdout, stderr } = await cli(['run', '/flux a lighthouse --size 512x512 --n 2'], path);
    expect(code, stderr).toBe(0);
    expect(stdout.trim().split('\n').at(-1)).toBe('Cost: $0.05 (2 images × $0.025/image)');
    expect((await ledger(prefix))[0]).toMatchObject({ micros: 50_000 });
  });

  it('serves a chat preset on an adapter of a LoRA-enabled endpoint, billed per minute', async () => {
    const { path, prefix } = config(
      chatModels(`default: { id: "${ENDPOINT_ADAPTER}", max_tokens: 256, pricing: { billed: per_minute } }`),
    );
    const { code, stdout, stderr } = await cli(['run', '/ask what is our refund policy?'], path);
    expect(code, stderr).toBe(0);
    expect(stdout).toBe(
      'You asked: what is our refund policy?\nCost: billed per minute of endpoint uptime (dedicated endpoint)\n',
    );
    expect(together.callsTo('/chat/completions').at(-1)!.body).toMatchObject({ model: ENDPOINT_ADAPTER });
    expect((await ledger(prefix))[0]).toMatchObject({ micros: 0, model: ENDPOINT_ADAPTER });
  });
});

describe('chat presets priced auto', () => {
  it('prices an answer at the rates Together lists for the model', async () => {
    const { path, prefix } = config(
      chatModels(`default: { id: ${AUTO_MODEL}, max_tokens: 256, pricing: auto }`),
    );
    const { code, stdout, stderr } = await cli(['run', '/ask how do I rotate keys?'], path);
    expect(code, stderr).toBe(0);
    const cost = /^Cost: \$([\d.]+) \((\d+) in \+ (\d+) out tokens\)$/m.exec(stdout);
    expect(cost, stdout).not.toBeNull();
    const [, usd, tokensIn, tokensOut] = cost!;
    // $0.88 per 1M tokens both ways, rounded up to a whole micro-dollar.
    expect(Number(usd)).toBe(Math.ceil((Number(tokensIn) + Number(tokensOut)) * 0.88) / 1e6);
    expect((await ledger(prefix))[0]!.micros).toBe(Math.ceil((Number(tokensIn) + Number(tokensOut)) * 0.88));
  });

  it('says the price is unknown when Together lists none for the model', async () => {
    const { path, prefix } = config(
      chatModels(`default: { id: ${UNPRICED_MODEL}, max_tokens: 256, pricing: auto }`),
    );
    const { code, stdout, stderr } = await cli(['run', '/ask hello?'], path);
    expect(code, stderr).toBe(0);
    expect(stdout).toBe(`You asked: hello?\nCost: unknown (Together lists no price for ${UNPRICED_MODEL})\n`);
    expect((await ledger(prefix))[0]).toMatchObject({ micros: 0 });
  });
});

describe('the shared price list', () => {
  const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

  it('fetches once for every process, refreshes when the list expires, and the gateway reads what workers stored', async () => {
    const prefix = `{lorabot-test-${randomUUID().slice(0, 8)}}`;
    prefixes.push(prefix);
    const keys = new RedisKeys(prefix);
    const listing = await new FakeTogether({
      listedModels: [modelInfo(AUTO_MODEL, 'chat', { input: 0.6, output: 1.2 })],
    }).start();
    const client = new TogetherClient({ baseUrl: listing.baseUrl, apiKey: listing.apiKey });
    const connections = [0, 1, 2].map(() => new Redis(redisUrl()));
    const intervals = { refreshMs: 800, pollMs: 40 };
    const workers = [0, 1].map(
      (i) =>
        new SharedPriceList({
          redis: connections[i]!,
          keys,
          logger: silent,
          fetchModels: () => client.listModels(),
          ...intervals,
        }),
    );
    const gateway = new SharedPriceList({ redis: connections[2]!, keys, logger: silent, ...intervals });
    try {
      await Promise.all(workers.map((w) => w.start()));
      await gateway.start();
      const first = { inputMicrosPerMTokens: 600_000, outputMicrosPerMTokens: 1_200_000 };
      for (const list of [...workers, gateway]) expect(list.tokenRates(AUTO_MODEL)).toEqual(first);
      expect(listing.callsTo('/models')).toHaveLength(1);

      // The gateway estimates for budgets with the same prices the workers charge.
      const loaded = loadConfig({ env: {}, cwd: mkdtempSync(join(tmpdir(), 'lorabot-pricing-')) });
      if (!loaded.success) throw new Error(loaded.error.message);
      const core = loaded.data.core;
      const settings = {
        ...core,
        chat: {
          ...core.chat,
          models: {
            default: { ...core.chat.models.default!, id: AUTO_MODEL, pricing: { kind: 'auto' as const } },
          },
        },
        prices: gateway,
      };
      const parsed = parseCommandLine('/ask hi', settings);
      if (!parsed.success || parsed.data.kind !== 'ask') throw new Error('bad test command');
      expect(planCommand(parsed.data, settings).estimate.text).toMatch(/^Cost: at most \$0\.00\d+ \(up to /);

      listing.models = [modelInfo(AUTO_MODEL, 'chat', { input: 0.5, output: 1 })];
      const second = { inputMicrosPerMTokens: 500_000, outputMicrosPerMTokens: 1_000_000 };
      for (const list of [...workers, gateway]) {
        await waitFor(
          'the refreshed price',
          () => list.tokenRates(AUTO_MODEL)?.inputMicrosPerMTokens === 500_000,
          5000,
        );
        expect(list.tokenRates(AUTO_MODEL)).toEqual(second);
      }
      // One fetch per expiry, however many workers poll.
      expect(listing.callsTo('/models')).toHaveLength(2);

      // A model Together stops listing a price for is unknown from the next refresh on, never its old price.
      listing.models = [modelInfo(AUTO_MODEL, 'chat')];
      await waitFor('the next refresh', () => listing.callsTo('/models').length === 3, 5000);
      await waitFor('the unlisted price', () => workers[0]!.tokenRates(AUTO_MODEL) === undefined, 5000);
    } finally {
      for (const list of [...workers, gateway]) list.close();
      for (const connection of connections) connection.disconnect();
      await client.close();
      await listing.close();
    }
  });

  it('keeps the prices it has when Together cannot be reached', async () => {
    const prefix = `{lorabot-test-${randomUUID().slice(0, 8)}}`;
    prefixes.push(prefix);
    const listing = await new FakeTogether({
      listedModels: [modelInfo(AUTO_MODEL, 'chat', { input: 0.6, output: 1.2 })],
    }).start();
    const client = new TogetherClient({
      baseUrl: listing.baseUrl,
      apiKey: listing.apiKey,
      retry: { maxRetries: 0 },
    });
    const connection = new Redis(redisUrl());
    const warnings: string[] = [];
    const logger: Logger = { ...silent, warn: (_obj, msg) => warnings.push(msg ?? '') };
    const list = new SharedPriceList({
      redis: connection,
      keys: new RedisKeys(prefix),
      logger,
      fetchModels: () => client.listModels(),
      refreshMs: 300,
      pollMs: 40,
    });
    try {
      await list.start();
      expect(list.tokenRates(AUTO_MODEL)).toEqual({
        inputMicrosPerMTokens: 600_000,
        outputMicrosPerMTokens: 1_200_000,
      });
      await listing.close();
      await waitFor('a failed refresh', () => warnings.length > 0, 5000);
      expect(warnings[0]).toMatch(
        /could not refresh Together's price list; keeping the prices already known/,
      );
      expect(list.tokenRates(AUTO_MODEL)).toEqual({
        inputMicrosPerMTokens: 600_000,
        outputMicrosPerMTokens: 1_200_000,
      });
    } finally {
      list.close();
      connection.disconnect();
      await client.close();
    }
  });
});

describe('lorabot doctor: the configured models', () => {
  it('passes listed models of the right type and price, including a dedicated endpoint', async () => {
    const { path } = config([
      'image:',
      `  model: ${ENDPOINT_IMAGE}`,
      '  pricing: { billed: per_minute }',
      ...chatModels(
        'default: { id: meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo, max_tokens: 256, pricing: { input_usd_per_m_tokens: 0.18, output_usd_per_m_tokens: 0.18 } }',
        `auto: { id: ${AUTO_MODEL}, max_tokens: 256, pricing: auto }`,
      ),
    ]);
    const { stdout } = await cli(['doctor'], path);
    expect(together.callsTo('/models?dedicated=true').length).toBeGreaterThan(0);
    const lines = stdout.split('\n').filter((l) => /^\w+\s+together/.test(l));
    expect(lines).toEqual([
      expect.stringMatching(/^OK\s+together\s+key accepted/),
      expect.stringMatching(
        new RegExp(
          `^OK\\s+together\\s+model ${ENDPOINT_IMAGE} \\(image.model\\) is listed as image; billed per minute`,
        ),
      ),
      // The edit model (`--image`) is still the serverless default, so it is checked on its own line.
      expect.stringMatching(
        /^OK\s+together\s+model black-forest-labs\/FLUX\.2-dev \(image\.edit\.model\) is listed as image/,
      ),
      expect.stringMatching(
        /^OK\s+together\s+.*\(chat.models.default\).*configured price matches Together's list/,
      ),
      expect.stringMatching(
        /^OK\s+together\s+.*\(chat.models.auto\).*priced from Together's list: \$0\.88 in/,
      ),
    ]);
  });

  it('fails a missing or wrong-typed model and warns on a price mismatch, with the key to change', async () => {
    const { path } = config([
      'image:',
      '  model: black-forest-labs/FLUX.1-dev-lora',
      ...chatModels(
        'default: { id: meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo, max_tokens: 256, pricing: { input_usd_per_m_tokens: 0.2, output_usd_per_m_tokens: 0.2 } }',
        'embed: { id: acme/embedder, max_tokens: 256, pricing: { input_usd_per_m_tokens: 0.01, output_usd_per_m_tokens: 0.01 } }',
      ),
    ]);
    const dedicatedBefore = together.callsTo('/models?dedicated=true').length;
    const { code, stdout } = await cli(['doctor'], path);
    expect(code).toBe(1);
    expect(stdout).toMatch(
      /^FAIL\s+together\s+model black-forest-labs\/FLUX.1-dev-lora is not in Together's model list .*set image.model to a listed image model/m,
    );
    expect(stdout).toMatch(
      /^WARN\s+together\s+chat.models.default.pricing: configured \$0\.20 in \/ \$0\.20 out per 1M tokens, Together lists \$0\.18 in \/ \$0\.18 out/m,
    );
    expect(stdout).toMatch(
      /^FAIL\s+together\s+model acme\/embedder is listed as an embedding model, not a chat model: set chat.models.embed.id/m,
    );
    // The missing model was looked for among the dedicated ones too before failing.
    expect(together.callsTo('/models?dedicated=true').length).toBeGreaterThan(dedicatedBefore);
  });
});
