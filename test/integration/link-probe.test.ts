import { once } from 'node:events';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpLinkProbe, MAX_PROBE_REDIRECTS } from '../../src/adapters/http/link-probe.js';
import { generateTestCertificate } from '../contract/fakes/test-tls.js';
import { type DiscordHarness, startDiscordHarness } from '../helpers/discord-harness.js';
import { type Harness, startHarness } from '../helpers/lorabot-harness.js';
import { VISION_CHAT_MODELS, VISION_TOGETHER } from '../helpers/vision.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The link probe over real sockets: an https server that answers in every way a link can (an image, 404, a web
 * page, HEAD refused, redirects) and a server that accepts connections and never answers; then end to end on
 * Slack and Discord, where such a link is refused privately before anything is queued, called or charged.
 */

/** Accepts TCP connections and never writes a byte (a TLS handshake that never finishes). */
class SilentServer {
  readonly sockets = new Set<Socket>();
  private readonly server: Server = createServer((socket) => {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  accepted = 0;

  async start(): Promise<string> {
    this.server.on('connection', () => this.accepted++);
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    const { port } = this.server.address() as { port: number };
    return `https://127.0.0.1:${port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

let tls: { key: string; cert: string };
let images: HttpsServer;
let imagesUrl: string;
const seen: Array<{ method: string; path: string; range: string | undefined }> = [];
const silent = new SilentServer();
let silentUrl: string;

beforeAll(async () => {
  tls = await generateTestCertificate();
  images = createHttpsServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    const path = req.url ?? '/';
    seen.push({ method: req.method ?? '', path, range: req.headers.range });
    const hop = /^\/hop\/(\d+)$/.exec(path);
    if (hop) {
      const left = Number(hop[1]);
      res.writeHead(302, { location: left > 0 ? `/hop/${left - 1}` : '/cat.png' }).end();
    } else if (path === '/cat.png') res.writeHead(200, { 'content-type': 'image/png' }).end();
    else if (path === '/page')
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<html>');
    else if (path === '/no-head' && req.method === 'HEAD') res.writeHead(405).end();
    else if (path === '/no-head') res.writeHead(206, { 'content-type': 'image/jpeg' }).end('\xff');
    else if (path === '/forbidden') res.writeHead(403).end();
    else res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  });
  images.listen(0, '127.0.0.1');
  await once(images, 'listening');
  imagesUrl = `https://127.0.0.1:${(images.address() as { port: number }).port}`;
  silentUrl = await silent.start();
});

afterAll(async () => {
  images?.closeAllConnections();
  await new Promise((resolve) => images?.close(resolve));
  await silent.close();
});

describe('the link probe, over real sockets', () => {
  const probe = () => new HttpLinkProbe({ timeoutMs: 3000, allowPrivate: true, ca: tls.cert });

  it('passes an image, following redirects, and asks for one byte by GET where HEAD is refused', async () => {
    const p = probe();
    try {
      expect(await p.check(`${imagesUrl}/cat.png`)).toBeUndefined();
      expect(await p.check(`${imagesUrl}/hop/${MAX_PROBE_REDIRECTS - 1}`)).toBeUndefined();
      const before = seen.length;
      expect(await p.check(`${imagesUrl}/no-head`)).toBeUndefined();
      expect(seen.slice(before)).toEqual([
        { method: 'HEAD', path: '/no-head', range: undefined },
        { method: 'GET', path: '/no-head', range: 'bytes=0-0' },
      ]);
    } finally {
      await p.close();
    }
  });

  it('names an error status, a web page, and too many redirects', async () => {
    const p = probe();
    try {
      expect(await p.check(`${imagesUrl}/deleted.jpg`)).toEqual({ kind: 'status', status: 404 });
      expect(await p.check(`${imagesUrl}/forbidden`)).toEqual({ kind: 'status', status: 403 });
      expect(await p.check(`${imagesUrl}/page`)).toEqual({
        kind: 'not-image',
        contentType: 'text/html; charset=utf-8',
      });
      expect(await p.check(`${imagesUrl}/hop/${MAX_PROBE_REDIRECTS}`)).toEqual({
        kind: 'redirects',
        max: MAX_PROBE_REDIRECTS,
      });
    } finally {
      await p.close();
    }
  });

  it('gives up on a server that never answers at the deadline', async () => {
    const p = new HttpLinkProbe({ timeoutMs: 1000, allowPrivate: true });
    try {
      const started = Date.now();
      expect(await p.check(`${silentUrl}/cat.png`)).toEqual({ kind: 'timeout', ms: 1000 });
      const took = Date.now() - started;
      expect(took).toBeGreaterThanOrEqual(950);
      expect(took).toBeLessThan(2000);
    } finally {
      await p.close();
    }
  });

  it('says a certificate it cannot trust makes the link unreachable', async () => {
    const p = new HttpLinkProbe({ timeoutMs: 3000, allowPrivate: true });
    try {
      expect(await p.check(`${imagesUrl}/cat.png`)).toEqual({
        kind: 'unreachable',
        reason: 'its https certificate is not valid',
      });
    } finally {
      await p.close();
    }
  });

  it('refuses private addresses without connecting: a literal, a v6 literal, a name that resolves to one', async () => {
    const p = new HttpLinkProbe({ timeoutMs: 3000, allowPrivate: false, ca: tls.cert });
    const port = new URL(imagesUrl).port;
    const before = seen.length;
    try {
      expect(await p.check(`${imagesUrl}/cat.png`)).toEqual({ kind: 'private' });
      expect(await p.check(`https://[::1]:${port}/cat.png`)).toEqual({ kind: 'private' });
      expect(await p.check(`https://[::ffff:127.0.0.1]:${port}/cat.png`)).toEqual({ kind: 'private' });
      expect(await p.check(`https://localhost:${port}/cat.png`)).toEqual({ kind: 'private' });
      expect(seen.length).toBe(before);
    } finally {
      await p.close();
    }
  });
});

/** The whole of a harness's queues: every job in any state. */
async function queued(running: {
  producer?: { queues: Record<'image' | 'chat', QueueLike> };
}): Promise<number> {
  const { image, chat } = running.producer!.queues;
  const counts = [...Object.values(await image.getJobCounts()), ...Object.values(await chat.getJobCounts())];
  return counts.reduce((a, b) => a + b, 0);
}
interface QueueLike {
  getJobCounts(): Promise<Record<string, number>>;
}

const month = () => new Date().toISOString().slice(0, 7);

describe('an --image link that does not answer, on Slack', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({
      configExtra: ['sources:', '  image_as: data_url', '  probe_links: true', ...VISION_CHAT_MODELS].join(
        '\n',
      ),
      together: VISION_TOGETHER,
    });
  });

  afterAll(async () => {
    await h?.close();
  });

  it('is refused privately within about 3 s, at once acknowledged, with nothing queued, called or charged', async () => {
    const before = await queued(h.running);
    const calls = h.together.calls.length;
    for (const [command, text] of [
      ['/flux', `put a hat on it --image ${silentUrl}/cat.png`],
      ['/ask', `what is in this picture? --model eyes --image ${silentUrl}/cat.png`],
    ] as const) {
      const responseUrl = h.slack.newResponseUrl();
      const id = responseUrl.split('/').pop();
      const started = Date.now();
      const result = await h.slash({
        channel_id: 'C0PROBE',
        user_id: 'U0PROBE',
        command,
        text,
        response_url: responseUrl,
      });
      expect(result.status).toBe(200);
      expect(result.ackMs).toBeLessThan(1000);
      const answer = await waitFor(
        'the private answer',
        () => h.slack.responses.find((r) => r.id === id),
        10_000,
      );
      const took = Date.now() - started;
      expect(answer.body.response_type).toBe('ephemeral');
      expect(answer.body.text).toBe(
        `The image link \`${silentUrl}/cat.png\` did not answer within 3 s, so Together could not read it either. Check that it opens in a browser, or use another link. Nothing was queued or charged.`,
      );
      expect(took).toBeGreaterThanOrEqual(2900);
      expect(took).toBeLessThan(6000);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await queued(h.running)).toBe(before);
    expect(h.together.calls.length).toBe(calls);
    expect(await h.running.workers!.ledgerView.entries(month())).toEqual([]);
  });
});

describe('an --image link to a private address, on Slack with probe_private_hosts off', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({
      configExtra: [
        'sources:',
        '  image_as: data_url',
        '  probe_links: true',
        '  probe_private_hosts: false',
      ].join('\n'),
    });
  });

  afterAll(async () => {
    await h?.close();
  });

  it('is refused as private without a connection being made, nothing queued or called', async () => {
    const before = await queued(h.running);
    const calls = h.together.calls.length;
    const accepted = silent.accepted;
    const responseUrl = h.slack.newResponseUrl();
    const id = responseUrl.split('/').pop();
    await h.slash({
      channel_id: 'C0PROBE',
      user_id: 'U0PRIVATE',
      command: '/flux',
      text: `a hat --image ${silentUrl}/cat.png`,
      response_url: responseUrl,
    });
    const answer = await waitFor(
      'the private answer',
      () => h.slack.responses.find((r) => r.id === id),
      10_000,
    );
    expect(answer.body.text).toBe(
      `The image link \`${silentUrl}/cat.png\` points to a private or local address; lorabot does not fetch links to private addresses. Use a public https link to the image. Nothing was queued or charged.`,
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(silent.accepted).toBe(accepted);
    expect(await queued(h.running)).toBe(before);
    expect(h.together.calls.length).toBe(calls);
  });
});

describe('an --image link that does not answer, on Discord', () => {
  let h: DiscordHarness;

  beforeAll(async () => {
    h = await startDiscordHarness({
      configExtra: ['sources:', '  image_as: data_url', '  probe_links: true'].join('\n'),
    });
  });

  afterAll(async () => {
    await h?.close();
  });

  it('is refused in the private deferred reply within about 3 s, nothing queued, called or charged', async () => {
    const { discord, together } = h;
    const before = await queued(h.running);
    const calls = together.calls.length;
    const started = Date.now();
    const { id } = discord.sendCommand({
      name: 'flux',
      options: [
        { name: 'prompt', type: 3, value: 'put a hat on it' },
        { name: 'image', type: 3, value: `${silentUrl}/cat.png` },
      ],
    });
    const token = (await waitFor('the interaction', () => discord.interaction(id))).token;
    const said = 'did not answer within 3 s';
    const call = await waitFor(
      'the private answer',
      () => discord.calls.find((c) => c.path.includes(token) && JSON.stringify(c.body ?? {}).includes(said)),
      10_000,
    );
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(2900);
    expect(took).toBeLessThan(6000);
    expect((call.body as { content: string }).content).toBe(
      `The image link \`${silentUrl}/cat.png\` did not answer within 3 s, so Together could not read it either. Check that it opens in a browser, or use another link. Nothing was queued or charged.`,
    );
    // Deferred privately before the look, so the refusal stays private.
    expect(discord.interaction(id)?.deferredAfterMs).toBeLessThan(3000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await queued(h.running)).toBe(before);
    expect(together.calls.length).toBe(calls);
    expect(await h.running.workers!.ledgerView.entries(month())).toEqual([]);
  });
});
