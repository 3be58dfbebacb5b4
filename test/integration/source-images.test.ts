import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobData, planCommand } from '../../src/app/command-plan.js';
import { parseCommand } from '../../src/core/command-parser.js';
import type { ChatMessage } from '../../src/core/ports.js';
import type { SourceImage } from '../../src/core/requests.js';
import { Ledger } from '../../src/queue/ledger.js';
import { RedisKeys } from '../../src/queue/redis-keys.js';
import { SourceFiles } from '../../src/queue/source-files.js';
import type { SlackFileFault } from '../contract/fakes/fake-slack.js';
import { renderImage } from '../contract/fakes/test-images.js';
import { type Harness, startHarness } from '../helpers/lorabot-harness.js';
import { redisUrl } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Source images end to end: a real gateway and worker on Redis, the fake Slack serving `url_private` files to the
 * bot token, the fake Together recording bodies. Jobs are queued as the gateway queues them (plan, then job
 * data), with their images: the grammar that makes them is tested with the commands.
 */
const PUBLIC_URL = 'https://lorabot.example.test';
const TIMEOUT_MS = 1000;
const PHOTO = renderImage({ width: 64, height: 48, seed: 7, format: 'png' });

let h: Harness;
let redis: Redis;
let ledger: Ledger;
let files: SourceFiles;
let seq = 0;

interface Queued {
  jobId: string;
  channel: string;
  parentTs: string;
  /** What makes this job's Together call findable: its prompt or question. */
  marker: string;
}

/** Queues a job with `images` for a new Slack thread, its body carrying them as the gateway writes them. */
async function queue(kind: 'flux' | 'ask', images: SourceImage[], on = h): Promise<Queued> {
  seq++;
  const marker = kind === 'flux' ? `source test ${seq}` : `what is in picture ${seq}?`;
  const parsed = parseCommand(kind, kind === 'flux' ? `${marker} --size 256x256` : marker, on.config.core);
  if (!parsed.success || (parsed.data.kind !== 'flux' && parsed.data.kind !== 'ask')) throw new Error('bad');
  const command = { ...parsed.data, request: { ...parsed.data.request, images } } as typeof parsed.data;
  // The body as the gateway builds it: a Slack file, a result or an upload as its marker, resolved in the worker.
  const plan = planCommand(command, on.config.core);
  const channel = `C0SRC${seq}`;
  const parentTs = on.slack.seedMessage(channel, 'parent');
  const target = {
    platform: 'slack' as const,
    workspaceId: on.slack.teamId,
    channelId: channel,
    userId: 'U0PANDA',
    parentTs,
  };
  const jobId = `src-${randomUUID()}`;
  await on.running.producer!.enqueue(jobId, jobData(command, plan, target, Date.now()));
  return { jobId, channel, parentTs, marker };
}

function status(job: Queued, on = h): string {
  return on.slack.messages.find((m) => m.ts === job.parentTs)?.text ?? '';
}

async function failure(job: Queued, on = h, timeoutMs = 15_000): Promise<string> {
  const notice = await waitFor(
    `the failure notice of ${job.marker}`,
    () => on.slack.thread(job.channel, job.parentTs).find((m) => m.text.includes('request failed')),
    timeoutMs,
  );
  await waitFor('the failed status', () => status(job, on).includes('Failed'));
  return notice.text;
}

async function entriesOf(job: Queued) {
  return (await ledger.entries(new Date().toISOString().slice(0, 7))).filter((e) => e.jobId === job.jobId);
}

function togetherCalls(job: Queued) {
  return h.together.calls.filter((call) => JSON.stringify(call.body ?? '').includes(job.marker));
}

function downloadsOf(fileId: string) {
  return h.slack.fileDownloads.filter((d) => d.id === fileId);
}

/** Fetches a `/files` link from the gateway (its public address stands for the test's local one). */
async function fetchLink(link: string): Promise<Response> {
  return fetch(link.replace(PUBLIC_URL, h.running.httpUrl!));
}

function slackFile(
  bytes: Buffer,
  options: { name?: string; mimetype?: string; fault?: SlackFileFault } = {},
) {
  const file = h.slack.hostFile(bytes, options);
  return { file, source: { kind: 'slack-file' as const, url: file.url_private, name: file.name } };
}

beforeAll(async () => {
  h = await startHarness({
    configExtra: [
      'gateway:',
      `  public_url: ${PUBLIC_URL}/`,
      'sources:',
      `  timeout_ms: ${TIMEOUT_MS}`,
      '  keep_results_hours: 1',
    ].join('\n'),
  });
  redis = new Redis(redisUrl());
  const keys = new RedisKeys(h.prefix);
  ledger = new Ledger(redis, keys);
  files = new SourceFiles(redis, keys);
}, 30_000);

afterAll(async () => {
  redis?.disconnect();
  await h?.close();
});

describe('a source image shared on Slack', () => {
  it('reaches Together as a /files link that serves the same bytes, downloaded once with the bot token', async () => {
    const { file, source } = slackFile(PHOTO);
    const job = await queue('flux', [source]);
    await waitFor('the job done', () => status(job).includes('Done'), 20_000);
    const [call] = togetherCalls(job);
    const link = (call!.body as { reference_images: string[] }).reference_images[0]!;
    expect(link).toMatch(/^https:\/\/lorabot\.example\.test\/files\/[A-Za-z0-9_-]{43}$/);
    expect(call!.schemaErrors).toEqual([]);
    const served = await fetchLink(link);
    expect(served.status).toBe(200);
    expect(served.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await served.arrayBuffer()).equals(PHOTO)).toBe(true);
    expect(downloadsOf(file.id)).toEqual([{ id: file.id, token: h.slack.botToken, outcome: 'ok' }]);
    expect(await entriesOf(job)).toMatchObject([{ status: 'charged', micros: 35_000 }]);
  }, 30_000);

  it('reaches a vision question as a data URL of the same bytes', async () => {
    const { source } = slackFile(PHOTO);
    const job = await queue('ask', [source]);
    await waitFor('the answer', () => status(job).includes('Done'), 20_000);
    const [call] = togetherCalls(job);
    const { messages } = call!.body as { messages: ChatMessage[] };
    const parts = messages.at(-1)!.content as Array<{ type: string; image_url?: { url: string } }>;
    expect(parts[1]!.image_url!.url).toBe(`data:image/png;base64,${PHOTO.toString('base64')}`);
    expect(call!.schemaErrors).toEqual([]);
  }, 30_000);

  it.each([
    {
      what: 'a 50 MB file',
      bytes: Buffer.alloc(50 * 1024 * 1024, 1),
      options: {},
      says: "it is larger than the bot's limit of 20 MB (sources.max_bytes). Share a smaller image.",
      attempts: 1,
    },
    {
      what: 'a 21 MB file sent without its length',
      bytes: Buffer.alloc(21 * 1024 * 1024, 2),
      options: { fault: { kind: 'unsized' } as const },
      says: "it is larger than the bot's limit of 20 MB (sources.max_bytes). Share a smaller image.",
      attempts: 1,
    },
    {
      what: 'a file that is not an image',
      bytes: Buffer.from('%PDF-1.7 a contract, not a photo'),
      options: { name: 'contract.pdf', mimetype: 'image/png' },
      says: 'it is not a PNG, JPEG, WebP or GIF image',
      attempts: 1,
    },
    {
      what: 'a deleted file',
      bytes: PHOTO,
      options: { fault: { kind: 'status', status: 404 } as const },
      says: 'Slack no longer has the file (HTTP 404)',
      attempts: 1,
    },
    {
      what: 'a link that redirects off Slack',
      bytes: PHOTO,
      options: { fault: { kind: 'redirect', location: 'https://images.example.com/steal' } as const },
      says: 'its link is not a Slack file link, so the bot did not send its token there',
      attempts: 1,
    },
    {
      what: 'a download that times out',
      bytes: PHOTO,
      options: { fault: { kind: 'stall', ms: 3 * TIMEOUT_MS } as const },
      says: 'Slack did not send it within 1 s. Try again shortly.',
      // A timeout may pass: the job's attempts (3), each one download, then the message.
      attempts: 3,
    },
  ])(
    '$what: a failure message in the thread, nothing charged, no Together call, $attempts download(s)',
    async (c) => {
      const { file, source } = slackFile(c.bytes, c.options);
      const job = await queue('flux', [source]);
      const notice = await failure(job);
      expect(notice).toContain(
        `Your /flux request failed: The image shared on Slack could not be used: ${c.says}`,
      );
      expect(togetherCalls(job)).toEqual([]);
      expect(await entriesOf(job)).toEqual([]);
      expect(downloadsOf(file.id)).toHaveLength(c.attempts);
    },
    30_000,
  );
});

describe('an image lorabot made', () => {
  it('is re-used from its kept result: Together gets a link to the delivered bytes', async () => {
    const first = await queue('flux', []);
    await waitFor('the first image', () => status(first).includes('Done'), 20_000);
    const delivered = h.slack.files.find((f) => f.thread_ts === first.parentTs)!;
    const vary = await queue('flux', [{ kind: 'result', jobId: first.jobId, index: 0 }]);
    await waitFor('the variation', () => status(vary).includes('Done'), 20_000);
    const [call] = togetherCalls(vary);
    const link = (call!.body as { reference_images: string[] }).reference_images[0]!;
    const served = await fetchLink(link);
    expect(Buffer.from(await served.arrayBuffer()).equals(delivered.bytes)).toBe(true);
    // Kept for sources.keep_results_hours (1 here), not the day a checkpoint lives.
    const ttl = await redis.ttl(new RedisKeys(h.prefix).checkpoint(first.jobId));
    expect(ttl).toBeGreaterThan(3500);
    expect(ttl).toBeLessThanOrEqual(3600);
  }, 40_000);

  it('that is no longer kept: a clear message, $0', async () => {
    const job = await queue('flux', [{ kind: 'result', jobId: 'job-long-gone', index: 0 }]);
    expect(await failure(job)).toContain('That image is no longer available to start from');
    expect(togetherCalls(job)).toEqual([]);
    expect(await entriesOf(job)).toEqual([]);
  }, 30_000);
});

describe('GET /files/<token>', () => {
  it('serves the bytes while the token lives, then 404; an unknown token is 404 too', async () => {
    const token = await files.put(PHOTO, 1);
    const live = await fetch(`${h.running.httpUrl}/files/${token}`);
    expect(live.status).toBe(200);
    expect(live.headers.get('cache-control')).toBe('private, no-store');
    expect(Buffer.from(await live.arrayBuffer()).equals(PHOTO)).toBe(true);
    await waitFor(
      'the link to expire',
      async () => (await fetch(`${h.running.httpUrl}/files/${token}`)).status === 404,
      5000,
    );
    expect((await fetch(`${h.running.httpUrl}/files/${'A'.repeat(43)}`)).status).toBe(404);
    expect((await fetch(`${h.running.httpUrl}/files/not-a-token`)).status).toBe(404);
  }, 15_000);
});

describe('an image uploaded from the web playground', () => {
  /** A browser session of the loopback playground (no password): its cookie and CSRF token. */
  async function browser(): Promise<(body: Buffer) => Promise<Response>> {
    const page = await fetch(`${h.running.httpUrl}/`);
    const cookie = /lorabot_session=[^;]+/.exec(page.headers.get('set-cookie') ?? '')![0];
    const session = (await (
      await fetch(`${h.running.httpUrl}/api/session`, { headers: { cookie } })
    ).json()) as {
      csrfToken: string;
    };
    return (body) =>
      fetch(`${h.running.httpUrl}/api/uploads`, {
        method: 'POST',
        headers: {
          cookie,
          origin: h.running.httpUrl!,
          'x-csrf-token': session.csrfToken,
          'content-type': 'application/octet-stream',
        },
        body,
      });
  }

  it('is stored under a token that a job starts from: Together gets a link to the same bytes', async () => {
    const upload = await browser();
    const answer = await upload(PHOTO);
    expect(answer.status).toBe(201);
    const { token, mimeType } = (await answer.json()) as { token: string; mimeType: string };
    expect(mimeType).toBe('image/png');
    const job = await queue('flux', [{ kind: 'stored', token, name: 'photo.png' }]);
    await waitFor('the job done', () => status(job).includes('Done'), 20_000);
    const [call] = togetherCalls(job);
    const link = (call!.body as { reference_images: string[] }).reference_images[0]!;
    expect(Buffer.from(await (await fetchLink(link)).arrayBuffer()).equals(PHOTO)).toBe(true);
  }, 30_000);

  it('refuses a file over sources.max_bytes (413) and one that is not an image (415), storing nothing', async () => {
    const upload = await browser();
    const before = (await redis.keys(`${h.prefix}:files:*`)).length;
    const big = await upload(Buffer.alloc(20 * 1024 * 1024 + 1, 0xff));
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: string }).error).toContain('larger than the limit of 20 MB');
    const text = await upload(Buffer.from('<html>not an image</html>'));
    expect(text.status).toBe(415);
    expect((await redis.keys(`${h.prefix}:files:*`)).length).toBe(before);
  }, 30_000);

  it('that expired: a clear message, $0', async () => {
    const job = await queue('flux', [{ kind: 'stored', token: 'B'.repeat(43) }]);
    expect(await failure(job)).toContain('The uploaded image has expired. Upload it again.');
    expect(await entriesOf(job)).toEqual([]);
  }, 30_000);

  it('a POST without the CSRF token is refused', async () => {
    const response = await fetch(`${h.running.httpUrl}/api/uploads`, { method: 'POST', body: PHOTO });
    expect([401, 403]).toContain(response.status);
  });
});

describe('without gateway.public_url', () => {
  let bare: Harness;
  beforeAll(async () => {
    // The default hand-off (a link), with no public address to make one from.
    bare = await startHarness({ configExtra: ['sources:', '  image_as: link'].join('\n') });
  }, 30_000);
  afterAll(async () => {
    await bare?.close();
  });

  /** The private answer at `responseUrl` says what an admin sets, and that nothing was queued. */
  async function toldNoPublicUrl(responseUrl: string): Promise<void> {
    const id = responseUrl.split('/').pop();
    const answer = await waitFor('the private answer', () => bare.slack.responses.find((r) => r.id === id));
    expect(answer.body.text).toContain(
      'An admin can set gateway.public_url (the https address of the gateway)',
    );
    expect(answer.body.text).toContain('Nothing was queued.');
  }

  /** How many Slack events of this entry and kind `lorabot_commands_total` counted with `outcome`. */
  async function counted(entry: string, kind: string, outcome: string): Promise<number> {
    const metrics = await (await fetch(`${bare.running.httpUrl}/metrics`)).text();
    const labels = `platform="slack",entry="${entry}",kind="${kind}",outcome="${outcome}"`;
    return Number(
      metrics
        .split('\n')
        .find((line) => line.startsWith(`lorabot_commands_total{${labels}} `))
        ?.split(' ')[1] ?? 0,
    );
  }

  it('a Slack image for an image request fails before any download or cost, saying what to set', async () => {
    const file = bare.slack.hostFile(PHOTO);
    const job = await queue('flux', [{ kind: 'slack-file', url: file.url_private }], bare);
    const notice = await failure(job, bare);
    expect(notice).toContain('An admin can set gateway.public_url (the https address of the gateway)');
    expect(bare.slack.fileDownloads).toEqual([]);
    expect(bare.together.callsTo('/images/generations')).toEqual([]);
  }, 30_000);

  it('"Edit with lorabot" on a Slack image is refused privately before the editor opens, nothing queued', async () => {
    const views = bare.slack.views.length;
    const file = bare.slack.hostFile(PHOTO);
    const shortcut = await bare.shortcut({
      callbackId: 'lorabot_edit_message',
      userId: 'U0NOLINK',
      channelId: 'C0NOLINK',
      files: [
        {
          id: file.id,
          name: 'photo.png',
          mimetype: 'image/png',
          size: PHOTO.length,
          url_private: file.url_private,
        },
      ],
    });
    expect(shortcut.status).toBe(200);
    await toldNoPublicUrl(shortcut.responseUrl);
    expect(bare.slack.views.length).toBe(views);
    expect(bare.slack.fileDownloads).toEqual([]);
    expect(await counted('message-action', 'edit', 'no_source')).toBe(1);
  }, 30_000);

  it('Vary on a result is refused privately and counted as no_source, not expired; nothing queued', async () => {
    const job = await queue('flux', [], bare);
    await waitFor('the result', () => status(job, bare).includes('Done'), 20_000);
    const calls = bare.together.calls.length;
    const pressed = await bare.press({ actionId: 'lorabot_vary', value: job.jobId, channelId: job.channel });
    await toldNoPublicUrl(pressed.responseUrl);
    expect(bare.together.calls.length).toBe(calls);
    expect(await counted('button', 'flux', 'no_source')).toBe(1);
    expect(await counted('button', 'flux', 'expired')).toBe(0);
  }, 30_000);

  it('a vision question still works: its image goes inline', async () => {
    const file = bare.slack.hostFile(PHOTO);
    const job = await queue('ask', [{ kind: 'slack-file', url: file.url_private }], bare);
    await waitFor('the answer', () => status(job, bare).includes('Done'), 20_000);
    const [call] = bare.together.callsTo('/chat/completions');
    expect(JSON.stringify(call!.body)).toContain(`data:image/png;base64,${PHOTO.toString('base64')}`);
  }, 30_000);
});
