import { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseModelList } from '../../src/adapters/together/model-list.js';
import { TogetherClient, type TogetherClientOptions } from '../../src/adapters/together/together-client.js';
import { TogetherError } from '../../src/adapters/together/together-error.js';
import { parseCommand } from '../../src/core/command-parser.js';
import type { Logger } from '../../src/core/ports.js';
import { buildChatBody, buildImageBody } from '../../src/core/together-bodies.js';
import { freePort } from '../../src/queue/redis-url.js';
import { testSettings } from '../helpers/settings.js';
import { type CdnFault, FakeTogether } from './fakes/fake-together.js';
import { togetherSpec } from './fakes/openapi-validator.js';
import { decodeImage } from './fakes/test-images.js';
import { generateTestCertificate } from './fakes/test-tls.js';

const settings = testSettings();
const IMAGE = '/images/generations';
const CHAT = '/chat/completions';

function imageBody(text = 'a baby panda --lora tarot@0.8 --lora realism --size 512x384 --n 2 --seed 7') {
  const parsed = parseCommand('flux', text, settings);
  if (!parsed.success || parsed.data.kind !== 'flux') throw new Error('bad test command');
  return buildImageBody(parsed.data.request, settings.image) as unknown as Record<string, unknown>;
}
const chatBody = (question = 'how do I rotate keys?') =>
  buildChatBody(question, settings.chat.models.support!) as unknown as Record<string, unknown>;

interface Harness {
  client: TogetherClient;
  delays: number[];
  logs: Array<Record<string, unknown>>;
}

let fake: FakeTogether;
let tls: { key: string; cert: string };
const clients: TogetherClient[] = [];

function makeClient(overrides: Partial<TogetherClientOptions> = {}, target = fake): Harness {
  const delays: number[] = [];
  const logs: Array<Record<string, unknown>> = [];
  const record = (level: string) => (obj: Record<string, unknown>, msg?: string) =>
    logs.push({ level, msg, ...obj });
  const logger: Logger = {
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
  };
  const client = new TogetherClient({
    baseUrl: target.baseUrl,
    apiKey: target.apiKey,
    logger,
    random: () => 0.5,
    sleep: async (ms) => {
      delays.push(ms);
    },
    dispatcher: new Agent({ connect: { ca: tls.cert } }),
    ...overrides,
  });
  clients.push(client);
  return { client, delays, logs };
}

async function failure(promise: Promise<unknown>): Promise<TogetherError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TogetherError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

beforeAll(async () => {
  tls = await generateTestCertificate();
  fake = await new FakeTogether({ tls }).start();
});

afterEach(() => {
  fake.calls.length = 0;
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await fake.close();
});

describe('Together client: images', () => {
  it('generates images as base64 and returns real image bytes of the requested size', async () => {
    const { client } = makeClient();
    const result = await client.generateImages(imageBody());
    expect(result.images).toHaveLength(2);
    for (const image of result.images) {
      expect(image.mimeType).toBe('image/jpeg');
      expect(decodeImage(image.bytes)).toMatchObject({ width: 512, height: 384 });
    }
    expect(result.attempts).toBe(1);
    expect(result.requestId).toMatch(/[0-9a-f-]{36}/);
    const [call] = fake.callsTo(IMAGE);
    expect(call!.schemaErrors).toEqual([]);
    expect(call!.headers.authorization).toBe(`Bearer ${fake.apiKey}`);
    expect(call!.body).toMatchObject({
      model: 'black-forest-labs/FLUX.2-dev',
      prompt: 'in the style of TOK a trtcrd tarot style, a baby panda',
      response_format: 'base64',
      image_loras: [
        { path: 'https://huggingface.co/multimodalart/flux-tarot-v1', scale: 0.8 },
        { path: 'https://huggingface.co/XLabs-AI/flux-RealismLora', scale: 0.8 },
      ],
    });
  });

  it('downloads url images over https with a User-Agent (the CDN refuses a blank one)', async () => {
    const { client } = makeClient({ userAgent: 'lorabot-test/1.0' });
    const result = await client.generateImages({
      ...imageBody('a panda --size 256x256'),
      response_format: 'url',
    });
    expect(result.images).toHaveLength(1);
    expect(decodeImage(result.images[0]!.bytes)).toMatchObject({ width: 256, height: 256, format: 'jpeg' });
  });

  it('refuses an image download over the size cap', async () => {
    const { client } = makeClient({ download: { maxBytes: 1000 } });
    const error = await failure(
      client.generateImages({ ...imageBody('a panda --size 256x256'), response_format: 'url' }),
    );
    // The generation itself succeeded (and was billed); only the download was refused.
    expect(error.kind).toBe('image');
    expect(error.billed).toBe(true);
    expect(error.code).toBe('download_failed');
    expect(error.userMessage).toBe(
      "Together made the image, but the bot could not download it: the image is larger than the bot's " +
        'download limit of 1000 bytes (together.download.max_bytes).',
    );
    expect(error.message).toContain('over the 1000-byte limit');
  });

  it('refuses to download an image URL that is not https', async () => {
    const { downloadImage } = await import('../../src/adapters/together/image-download.js');
    const error = await failure(
      downloadImage(`${fake.baseUrl}/whatever.png`, {
        maxBytes: 1e6,
        timeoutMs: 1000,
        userAgent: 'x',
        dispatcher: new Agent(),
      }),
    );
    expect(error.userMessage).toMatch(
      /the link Together returned is not an https URL, so the bot did not fetch it/,
    );
  });

  it('waits out a 429 with retry-after: 2 and then succeeds', async () => {
    const { client } = makeClient({ sleep: undefined });
    fake.inject(IMAGE, { kind: 'status', status: 429, headers: { 'retry-after': '2' } });
    const started = performance.now();
    const result = await client.generateImages(imageBody('a panda --size 256x256'));
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(1950);
    expect(elapsed).toBeLessThan(4000);
    expect(result.attempts).toBe(2);
    expect(fake.callsTo(IMAGE)).toHaveLength(2);
  });

  it('meets 429 with x-ratelimit headers from a fake limited to images per minute, and retries it', async () => {
    const limited = await new FakeTogether({ tls, imagesPerMinute: 3 }).start();
    try {
      const { client, delays } = makeClient({}, limited);
      await client.generateImages(imageBody('a panda --size 256x256 --n 2'));
      const refused = await failure(client.generateImages(imageBody('a panda --size 256x256 --n 2')));
      expect(refused.status).toBe(429);
      expect(limited.rateLimited).toBe(3);
      expect(delays).toHaveLength(2);
      // One image still fits the minute.
      await client.generateImages(imageBody('a panda --size 256x256 --n 1'));
      expect(limited.rateLimited).toBe(3);
      expect(limited.callsTo(IMAGE)).toHaveLength(5);
    } finally {
      await limited.close();
    }
  });

  it('honours retry-after-ms over retry-after', async () => {
    const { client, delays } = makeClient();
    fake.inject(IMAGE, {
      kind: 'status',
      status: 503,
      headers: { 'retry-after-ms': '250', 'retry-after': '9' },
    });
    await client.generateImages(imageBody('a panda --size 256x256'));
    expect(delays).toEqual([250]);
  });

  it('treats the legacy 400 with code "rate_limit" as a 429', async () => {
    const { client, delays } = makeClient();
    fake.inject(IMAGE, {
      kind: 'status',
      status: 400,
      body: JSON.stringify({
        error: { message: 'rate limited', type: 'invalid_request_error', code: 'rate_limit' },
      }),
    });
    const result = await client.generateImages(imageBody('a panda --size 256x256'));
    expect(result.attempts).toBe(2);
    expect(delays).toEqual([Math.round(1000 * (1 - 0.5 * 0.25))]);
  });

  it('gives up after the configured retries, with jittered exponential backoff', async () => {
    const { client, delays } = makeClient({ retry: { maxRetries: 2 } });
    fake.inject(IMAGE, { kind: 'status', status: 503 }, 3);
    const error = await failure(client.generateImages(imageBody('a panda --size 256x256')));
    expect(error.code).toBe('overloaded');
    expect(error.userMessage).toMatch(/overloaded/);
    expect(delays).toEqual([875, 1750]);
    expect(fake.callsTo(IMAGE)).toHaveLength(3);
  });

  it('does not wait on a server that asks for longer than the cap', async () => {
    const { client, delays } = makeClient({ retry: { maxServerDelayMs: 5000 } });
    fake.inject(IMAGE, { kind: 'status', status: 429, headers: { 'retry-after': '120' } });
    const error = await failure(client.generateImages(imageBody('a panda --size 256x256')));
    expect(error.code).toBe('rate_limited');
    expect(delays).toEqual([]);
  });

  it.each([
    [401, 'unauthorized', /TOGETHER_API_KEY/],
    [402, 'payment_required', /credits/],
    [403, 'forbidden', /refused/],
    [408, 'request_timeout', /timed out/],
    [409, 'conflict', /conflict/],
    [500, 'server_error', /server error \(HTTP 500\)/],
    [502, 'server_error', /HTTP 502/],
    [504, 'gateway_timeout', /HTTP 504/],
  ] as const)('does not retry an image request answered %i', async (status, code, message) => {
    const { client } = makeClient();
    fake.inject(IMAGE, { kind: 'status', status });
    const error = await failure(client.generateImages(imageBody('a panda --size 256x256')));
    expect(error.code).toBe(code);
    expect(error.status).toBe(status);
    expect(error.userMessage).toMatch(message);
    expect(error.requestId).toBeDefined();
    expect(fake.callsTo(IMAGE)).toHaveLength(1);
  });

  it('rejects a wrong API key with 401 and does not retry it', async () => {
    const { client, logs } = makeClient({ apiKey: 'sk-wrong-key-12345' });
    const error = await failure(client.generateImages(imageBody('a panda --size 256x256')));
    expect(error.code).toBe('unauthorized');
    expect(fake.callsTo(IMAGE)).toHaveLength(1);
    const everything = JSON.stringify({
      message: error.message,
      user: error.userMessage,
      details: error.details,
      logs,
    });
    expect(everything).not.toContain('sk-wrong-key-12345');
  });

  it('names the config key when the model is unknown (deprecated or removed)', async () => {
    const { client } = makeClient();
    const error = await failure(
      client.generateImages({
        ...imageBody('a panda --size 256x256'),
        model: 'black-forest-labs/FLUX.0-gone',
      }),
    );
    expect(error.code).toBe('model_unavailable');
    expect(error.userMessage).toMatch(
      /^The image model `black-forest-labs\/FLUX\.0-gone` is no longer served by Together .*An admin can set image\.model/,
    );
    expect(fake.callsTo(IMAGE)).toHaveLength(1);
  });

  it('does not retry an image request whose connection dropped after the body was sent: it may be billed', async () => {
    const { client } = makeClient();
    fake.inject(IMAGE, { kind: 'drop-after-request-body' });
    const error = await failure(client.generateImages(imageBody('a panda --size 256x256')));
    expect(error.code).toBe('network');
    expect(error.mayBeBilled).toBe(true);
    expect(error.userMessage).toMatch(/may have been billed/);
    expect(fake.callsTo(IMAGE)).toHaveLength(1);
  });

  it('treats a drop before the body was read the same way: the client cannot know Together did not start', async () => {
    const { client } = makeClient();
    fake.inject(IMAGE, { kind: 'drop-before-request-body' });
    const error = await failure(client.generateImages(imageBody('a panda --size 256x256')));
    expect(error.mayBeBilled).toBe(true);
    expect(fake.callsTo(IMAGE)).toHaveLength(1);
  });

  it('does not retry an image response that broke off midway, and says it was probably billed', async () => {
    const { client } = makeClient();
    fake.inject(IMAGE, { kind: 'drop-mid-response' });
    const error = await failure(client.generateImages(imageBody('a panda --size 256x256')));
    expect(error.mayBeBilled).toBe(true);
    expect(error.userMessage).toMatch(/probably billed/);
    expect(fake.callsTo(IMAGE)).toHaveLength(1);
  });

  it('times out an image request without retrying it', async () => {
    const { client } = makeClient({ timeouts: { imageMs: 300 } });
    fake.inject(IMAGE, { kind: 'delay', ms: 4000 });
    const error = await failure(client.generateImages(imageBody('a panda --size 256x256')));
    expect(error.code).toBe('timeout');
    expect(error.mayBeBilled).toBe(true);
    expect(error.userMessage).toMatch(/within 0 s|within 1 s|may have been billed/);
    expect(fake.callsTo(IMAGE)).toHaveLength(1);
  });

  it('reports malformed JSON in a 200 as an unreadable response, without retrying an image', async () => {
    const { client } = makeClient();
    fake.inject(IMAGE, { kind: 'malformed-json' });
    const error = await failure(client.generateImages(imageBody('a panda --size 256x256')));
    expect(error.code).toBe('invalid_response');
    expect(fake.callsTo(IMAGE)).toHaveLength(1);
  });

  it('retries a connection refused: Together never saw the request', async () => {
    const port = await freePort();
    const later = new FakeTogether({ tls });
    const { client, delays } = makeClient({
      baseUrl: `http://127.0.0.1:${port}/v1`,
      apiKey: later.apiKey,
      sleep: async (ms) => {
        delays.push(ms);
        if (!later.baseUrl) await later.startOn(port);
      },
    });
    try {
      const result = await client.generateImages(imageBody('a panda --size 256x256'));
      expect(result.attempts).toBe(2);
      expect(delays).toHaveLength(1);
      expect(later.callsTo(IMAGE)).toHaveLength(1);
    } finally {
      await later.close();
    }
  });

  it('fails at once with a clear message when TOGETHER_API_KEY is not set', async () => {
    const { client } = makeClient({ apiKey: undefined });
    const error = await failure(client.generateImages(imageBody()));
    expect(error.code).toBe('not_configured');
    expect(error.userMessage).toMatch(/TOGETHER_API_KEY/);
    expect(fake.calls).toHaveLength(0);
  });

  it('stops at once when cancelled', async () => {
    const { client } = makeClient();
    fake.inject(IMAGE, { kind: 'delay', ms: 2000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const error = await failure(
      client.generateImages(imageBody('a panda --size 256x256'), { signal: controller.signal }),
    );
    expect(error.code).toBe('aborted');
    await new Promise((r) => setTimeout(r, 50));
    expect(fake.callsTo(IMAGE)[0]!.clientClosedEarly).toBe(true);
  });
});

describe('Together client: chat', () => {
  it('answers a chat completion with usage', async () => {
    const { client } = makeClient();
    const result = await client.chat(chatBody());
    expect(result.text).toBe('You asked: how do I rotate keys?');
    expect(result.finishReason).toBe('stop');
    expect(result.usage).toEqual({ promptTokens: 10, completionTokens: 7 });
    expect(fake.callsTo(CHAT)[0]!.schemaErrors).toEqual([]);
  });

  it.each([408, 409, 429, 502, 503, 504])('retries a chat request answered %i', async (status) => {
    const { client } = makeClient();
    fake.inject(CHAT, { kind: 'status', status });
    const result = await client.chat(chatBody());
    expect(result.attempts).toBe(2);
  });

  it.each([400, 401, 402, 403, 404, 500])('does not retry a chat request answered %i', async (status) => {
    const { client } = makeClient();
    fake.inject(CHAT, { kind: 'status', status });
    const error = await failure(client.chat(chatBody()));
    expect(error.status).toBe(status);
    expect(fake.callsTo(CHAT)).toHaveLength(1);
  });

  it('explains a 403 as a context-length problem for chat', async () => {
    const { client } = makeClient();
    fake.inject(CHAT, { kind: 'status', status: 403 });
    const error = await failure(client.chat(chatBody()));
    expect(error.userMessage).toMatch(/context length/);
  });

  it('lets x-should-retry: false override a retryable status', async () => {
    const { client } = makeClient();
    fake.inject(CHAT, { kind: 'status', status: 503, headers: { 'x-should-retry': 'false' } });
    await failure(client.chat(chatBody()));
    expect(fake.callsTo(CHAT)).toHaveLength(1);
  });

  it('retries a chat request whose connection dropped, and one that timed out', async () => {
    const { client } = makeClient({ timeouts: { chatMs: 300 } });
    fake.inject(CHAT, { kind: 'drop-after-request-body' });
    expect((await client.chat(chatBody())).attempts).toBe(2);
    fake.inject(CHAT, { kind: 'delay', ms: 4000 });
    expect((await client.chat(chatBody())).attempts).toBe(2);
  });

  it('reads a 503 whose body is plain text', async () => {
    const { client } = makeClient({ retry: { maxRetries: 0 } });
    fake.inject(CHAT, {
      kind: 'status',
      status: 503,
      headers: { 'content-type': 'text/plain' },
      body: 'upstream overloaded',
    });
    const error = await failure(client.chat(chatBody()));
    expect(error.code).toBe('overloaded');
    expect(error.message).toContain('upstream overloaded');
  });
});

describe('Together client: streams', () => {
  it('streams text and reads usage from the finish chunk', async () => {
    const { client } = makeClient();
    const deltas: string[] = [];
    const result = await client.streamChat(chatBody('one two three'), { onDelta: (d) => deltas.push(d) });
    expect(deltas.join('')).toBe('You asked: one two three');
    expect(deltas.length).toBeGreaterThan(3);
    expect(result).toMatchObject({
      text: 'You asked: one two three',
      finishReason: 'stop',
      usage: { promptTokens: 8, completionTokens: 5 },
    });
    expect(fake.callsTo(CHAT)[0]!.body).toMatchObject({ stream: true });
  });

  it('reads usage from a trailing chunk, and reports none when none came', async () => {
    for (const [placement, usage] of [
      ['trailing', { promptTokens: 8, completionTokens: 5 }],
      ['none', undefined],
    ] as const) {
      const other = await new FakeTogether({ usagePlacement: placement }).start();
      try {
        const { client } = makeClient({}, other);
        const result = await client.streamChat(chatBody('one two three'));
        expect(result.text).toBe('You asked: one two three');
        expect(result.usage).toEqual(usage);
      } finally {
        await other.close();
      }
    }
  });

  it('turns an error event inside a 200 stream into an error, keeping what arrived, without a retry', async () => {
    const { client } = makeClient();
    fake.inject(CHAT, { kind: 'stream-error', afterChunks: 2, message: 'model crashed' });
    const deltas: string[] = [];
    const error = await failure(
      client.streamChat(chatBody('one two three'), { onDelta: (d) => deltas.push(d) }),
    );
    expect(error.code).toBe('stream_error');
    expect(error.userMessage).toMatch(/model crashed/);
    expect(error.partialText).toBe(deltas.join(''));
    expect(error.partialText).toBe('You asked: ');
    expect(fake.callsTo(CHAT)).toHaveLength(1);
  });

  it('does not restart a stream that dropped after its first token', async () => {
    const { client } = makeClient();
    fake.inject(CHAT, { kind: 'stream-drop', afterChunks: 2 });
    const error = await failure(client.streamChat(chatBody('one two three')));
    expect(error.code).toBe('stream_error');
    expect(error.partialText).toBe('You asked: ');
    expect(fake.callsTo(CHAT)).toHaveLength(1);
  });

  it('retries a stream that dropped before its first token', async () => {
    const { client } = makeClient();
    fake.inject(CHAT, { kind: 'stream-drop', afterChunks: 0 });
    const result = await client.streamChat(chatBody('one two three'));
    expect(result.text).toBe('You asked: one two three');
    expect(result.attempts).toBe(2);
  });

  it('reports a malformed event', async () => {
    const { client } = makeClient();
    fake.inject(CHAT, { kind: 'stream-malformed', afterChunks: 1 });
    const error = await failure(client.streamChat(chatBody()));
    expect(error.userMessage).toMatch(/malformed/);
  });

  it('times out a stream that goes silent, and retries it since no token had arrived', async () => {
    const { client } = makeClient({ timeouts: { streamIdleMs: 200 }, retry: { maxRetries: 1 } });
    // undici checks timeouts on a coarse timer (up to ~1 s late), so the silence must be well past that.
    fake.inject(CHAT, { kind: 'delay', ms: 4000 });
    expect((await client.streamChat(chatBody())).attempts).toBe(2);
    fake.inject(CHAT, { kind: 'delay', ms: 4000 }, 2);
    const error = await failure(client.streamChat(chatBody()));
    expect(error.code).toBe('timeout');
    expect(error.userMessage).toMatch(/did not answer within/);
  });
});

describe('Together client: image downloads from the CDN', () => {
  const urlBody = () => ({ ...imageBody('a panda --size 256x256'), response_format: 'url' });
  const downloads = () => fake.cdnCalls.splice(0);

  it('sends its User-Agent to the CDN, and the fake CDN, like Together’s, refuses an empty one', async () => {
    downloads();
    const { client } = makeClient({ userAgent: 'lorabot/9.9.9' });
    await client.generateImages(urlBody());
    expect(downloads().map((c) => c.userAgent)).toEqual(['lorabot/9.9.9']);
    const { client: blank } = makeClient({ userAgent: '', retry: { maxRetries: 0 } });
    const error = await failure(blank.generateImages(urlBody()));
    expect(error.userMessage).toMatch(/image link no longer works \(HTTP 403\)/);
    expect(downloads().map((c) => c.userAgent ?? '')).toEqual(['']);
  });

  const LINK = (status: number) =>
    `Together made the image, but the bot could not download it: Together's image link no longer works (HTTP ${status}); ` +
    'its links expire after a short while. Try again. If it keeps happening, an admin can set ' +
    'image.response_format to base64 so images come inside the answer.';
  // Only the stall case needs a short download timeout; the others get a long one, so a loaded machine cannot turn
  // their answer into a timeout.
  const cases: Array<{
    name: string;
    fault: CdnFault;
    message: string;
    downloads: number;
    timeoutMs?: number;
  }> = [
    {
      name: 'an expired link (403)',
      fault: { kind: 'status', status: 403 },
      message: LINK(403),
      downloads: 1,
    },
    {
      name: 'a link that is gone (404)',
      fault: { kind: 'status', status: 404 },
      message: LINK(404),
      downloads: 1,
    },
    {
      name: 'a link that is gone (410)',
      fault: { kind: 'status', status: 410 },
      message: LINK(410),
      downloads: 1,
    },
    {
      name: 'a CDN server error (503, retried)',
      fault: { kind: 'status', status: 503, body: 'Service Unavailable', contentType: 'text/plain' },
      message:
        "Together made the image, but the bot could not download it: Together's image server answered HTTP 503. Try again shortly.",
      downloads: 2,
    },
    {
      name: 'a download that times out (retried)',
      fault: { kind: 'stall', ms: 1500 },
      timeoutMs: 300,
      message:
        'Together made the image, but the bot could not download it: the download took longer than 300 ms. Try again shortly.',
      downloads: 2,
    },
    {
      name: 'an image over the size cap',
      fault: { kind: 'oversize', bytes: 200_000 },
      message:
        "Together made the image, but the bot could not download it: the image is larger than the bot's download limit of 100000 bytes (together.download.max_bytes).",
      downloads: 1,
    },
    {
      name: 'a page that is not an image',
      fault: { kind: 'not-image' },
      message:
        'Together made the image, but the bot could not download it: the link returned something that is not a PNG, JPEG or WebP image.',
      downloads: 1,
    },
    {
      name: 'a download that breaks off (retried)',
      fault: { kind: 'drop' },
      message:
        'Together made the image, but the bot could not download it: the download broke off before the image was complete. Try again shortly.',
      downloads: 2,
    },
  ];

  it.each(cases)('reports $name as a download failure, charged as billed', async (c) => {
    downloads();
    const { client } = makeClient({
      retry: { maxRetries: 1 },
      download: { maxBytes: 100_000, timeoutMs: c.timeoutMs ?? 10_000 },
    });
    fake.injectCdn(c.fault, c.downloads);
    const error = await failure(client.generateImages(urlBody()));
    expect(error.code).toBe('download_failed');
    expect(error.userMessage).toBe(c.message);
    expect(error.userMessage).not.toMatch(/context length/);
    // Together answered 200: the generation was done, and billed, whatever happened to the download.
    expect(error.billed).toBe(true);
    expect(fake.callsTo(IMAGE)).toHaveLength(1);
    expect(downloads()).toHaveLength(c.downloads);
  });

  it('gets the image when a retried download succeeds', async () => {
    downloads();
    const { client } = makeClient();
    fake.injectCdn({ kind: 'status', status: 502, body: 'Bad Gateway', contentType: 'text/plain' });
    const result = await client.generateImages(urlBody());
    expect(decodeImage(result.images[0]!.bytes)).toMatchObject({ width: 256, height: 256 });
    expect(downloads()).toHaveLength(2);
  });
});

describe('Together client: models this account cannot use', () => {
  let worlds: FakeTogether;
  const GONE = 'black-forest-labs/FLUX.1-dev-lora';
  const BLOCKED = 'black-forest-labs/FLUX.2-pro';
  const FLUX2 = 'black-forest-labs/FLUX.2-dev';

  beforeAll(async () => {
    worlds = await new FakeTogether({
      imageModels: [GONE, BLOCKED, FLUX2],
      loraRefusingModels: [FLUX2],
      dataSharingBlockedModels: [BLOCKED],
      goneModels: [GONE],
    }).start();
  });
  afterAll(() => worlds.close());

  const image = async (model: string, text: string) => {
    worlds.calls.length = 0;
    const { client } = makeClient({}, worlds);
    const result = await client
      .generateImages({ ...imageBody(text), model }, { modelSetting: 'image.model' })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(worlds.callsTo(IMAGE)).toHaveLength(1);
    if (!(result instanceof TogetherError)) throw new Error('expected a TogetherError');
    return result;
  };

  it('refuses LoRAs on a model that does not take them, once, and still makes images without', async () => {
    const error = await image(FLUX2, 'a panda --lora tarot --size 256x256');
    expect(error.code).toBe('loras_not_supported');
    expect(error.status).toBe(400);
    expect(error.userMessage).toMatch(
      /^This image model \(`black-forest-labs\/FLUX\.2-dev`\) does not take LoRAs/,
    );
    const { client } = makeClient({}, worlds);
    const plain = await client.generateImages({ ...imageBody('a panda --size 256x256'), model: FLUX2 });
    expect(plain.images).toHaveLength(1);
  });

  it('says what the organization must enable on 403 third_party_data_sharing_blocked', async () => {
    const error = await image(BLOCKED, 'a panda --size 256x256');
    expect(error.code).toBe('data_sharing_blocked');
    expect(error.status).toBe(403);
    expect(error.userMessage).toContain('"Allow my organization to use passthrough models"');
  });

  it('says a model that now needs a dedicated endpoint is no longer served', async () => {
    const error = await image(GONE, 'a panda --size 256x256');
    expect(error.code).toBe('model_unavailable');
    expect(error.message).toContain('Unable to access non-serverless model');
    expect(error.message).toContain(`image.model (${GONE})`);
  });

  it('answers with Together’s ErrorData shape', async () => {
    const response = await fetch(`${worlds.baseUrl}/images/generations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${worlds.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...imageBody('a panda --size 256x256'), model: BLOCKED }),
    });
    const body = (await response.json()) as { error: unknown };
    expect(response.status).toBe(403);
    expect(togetherSpec().errors('/components/schemas/ErrorData', body)).toEqual([]);
    expect(body.error).toEqual({
      message: 'This model requires third-party data sharing to be enabled for your organization.',
      type: 'invalid_request_error',
      param: null,
      code: 'third_party_data_sharing_blocked',
    });
  });
});

describe('Together client: model list', () => {
  it('reads each listed model’s id, type and prices from a list that matches Together’s schema', async () => {
    const listing = await new FakeTogether({
      dedicatedModels: [{ id: 'acme/flux-lora-endpoint', type: 'image' }],
    }).start();
    try {
      const { client } = makeClient({}, listing);
      const models = await client.listModels();
      expect(models).toEqual([
        {
          id: 'black-forest-labs/FLUX.2-dev',
          type: 'image',
          pricing: { input: 0, output: 0, base: 0, hourly: 0, finetune: 0 },
        },
        {
          id: 'meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo',
          type: 'chat',
          pricing: { input: 0.18, output: 0.18, base: 0, hourly: 0, finetune: 0 },
        },
      ]);
      const dedicated = await client.listModels({ dedicated: true });
      expect(dedicated).toEqual([
        {
          id: 'acme/flux-lora-endpoint',
          type: 'image',
          pricing: { input: 0, output: 0, base: 0, hourly: 3.99, finetune: 0 },
        },
      ]);
      const spec = togetherSpec();
      for (const query of ['', '?dedicated=true']) {
        const response = await fetch(`${listing.baseUrl}/models${query}`, {
          headers: { authorization: `Bearer ${listing.apiKey}` },
        });
        expect(spec.errors(spec.responsePointer('/models', 'get', '200'), await response.json())).toEqual([]);
      }
      expect(listing.callsTo('/models')).toHaveLength(2);
      expect(listing.callsTo('/models?dedicated=true')).toHaveLength(2);
    } finally {
      await listing.close();
    }
  });

  it('skips entries without an id and leaves out prices that are not numbers', () => {
    expect(
      parseModelList([
        { id: 'a/chat', type: 'chat', pricing: { input: 0.2, output: '0.4', hourly: null } },
        { type: 'chat' },
        { id: 'a/untyped' },
        'junk',
      ]),
    ).toEqual([
      { id: 'a/chat', type: 'chat', pricing: { input: 0.2 } },
      { id: 'a/untyped', type: 'unknown' },
    ]);
    expect(parseModelList({ data: [{ id: 'a/old-shape', type: 'language' }] })).toEqual([
      { id: 'a/old-shape', type: 'language' },
    ]);
    expect(parseModelList(null)).toEqual([]);
  });

  it('fails with the key problem when Together refuses the key', async () => {
    const { client } = makeClient({ apiKey: 'wrong-key', retry: { maxRetries: 0 } });
    const error = await failure(client.listModels());
    expect(error.userMessage).toMatch(/TOGETHER_API_KEY/);
    expect(error.userMessage).not.toContain('wrong-key');
  });
});

describe('the fake Together', () => {
  it('rejects what the real API rejects, with Together’s error shape', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ model: 'black-forest-labs/FLUX.2-dev' }, /prompt/],
      [{ ...imageBody('a panda'), n: 5 }, /n must be between 1 and 4/],
      [{ ...imageBody('a panda'), width: 1001 }, /multiple of 8/],
      [
        {
          ...imageBody('a panda'),
          image_loras: [1, 2, 3].map(() => ({ path: 'https://huggingface.co/a/b', scale: 1 })),
        },
        /up to 2 LoRAs/,
      ],
      [{ ...imageBody('a panda'), image_loras: [{ path: 'https://huggingface.co/a/b' }] }, /scale/],
      [{ ...imageBody('a panda'), steps: 'many' }, /steps/],
    ];
    for (const [body, message] of cases) {
      const response = await fetch(`${fake.baseUrl}${IMAGE}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${fake.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(response.status).toBe(400);
      const json = (await response.json()) as {
        error: { message: string; type: string; code: unknown; param: unknown };
      };
      expect(json.error.message).toMatch(message);
      expect(json.error).toHaveProperty('type');
      expect(togetherSpec().errors('/components/schemas/ErrorData', json)).toEqual([]);
    }
  });

  it('answers with bodies that match Together’s response schemas', async () => {
    const spec = togetherSpec();
    const headers = { authorization: `Bearer ${fake.apiKey}`, 'content-type': 'application/json' };
    const image = await (
      await fetch(`${fake.baseUrl}${IMAGE}`, {
        method: 'POST',
        headers,
        body: JSON.stringify(imageBody('a panda --size 256x256')),
      })
    ).json();
    expect(spec.errors('/components/schemas/ImageResponse', image)).toEqual([]);
    const chat = await (
      await fetch(`${fake.baseUrl}${CHAT}`, { method: 'POST', headers, body: JSON.stringify(chatBody()) })
    ).json();
    expect(
      spec.errors('/components/schemas/ChatCompletionResponse', { prompt: [], ...(chat as object) }),
    ).toEqual([]);
    const stream = await (
      await fetch(`${fake.baseUrl}${CHAT}`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ ...chatBody(), stream: true }),
      })
    ).text();
    const events = stream.split('\n\n').filter((e) => e.startsWith('data: {'));
    expect(events.length).toBeGreaterThan(2);
    for (const event of events)
      expect(spec.errors('/components/schemas/ChatCompletionChunk', JSON.parse(event.slice(6)))).toEqual([]);
  });
});

describe('every request the client sent', () => {
  it('passed Together’s OpenAPI request schema', async () => {
    const { client } = makeClient();
    await client.generateImages(imageBody());
    await client.chat(chatBody());
    await client.streamChat(chatBody());
    const sent = fake.calls.filter((call) => call.body !== undefined);
    expect(sent).toHaveLength(3);
    for (const call of sent) expect(call.schemaErrors, JSON.stringify(call.body)).toEqual([]);
  });
});
