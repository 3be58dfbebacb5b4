import { randomUUID } from 'node:crypto';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import {
  DEFAULT_MAX_SOURCE_BYTES,
  editRefusal,
  type SourceFault,
  sourcesOf,
  sourceTint,
} from './fake-together-edits.js';
import { FakeFineTunes } from './fake-together-finetunes.js';
import { readBody } from './http-body.js';
import { togetherSpec } from './openapi-validator.js';
import { renderImage } from './test-images.js';

/** One injected fault, used by the next matching request(s). */
export type TogetherFault =
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: string }
  | { kind: 'delay'; ms: number }
  | { kind: 'drop-before-request-body' }
  | { kind: 'drop-after-request-body' }
  | { kind: 'drop-mid-response' }
  | { kind: 'malformed-json' }
  | { kind: 'stream-error'; afterChunks: number; message?: string }
  | { kind: 'stream-drop'; afterChunks: number }
  | { kind: 'stream-malformed'; afterChunks: number };

/** One injected fault of the image CDN (`response_format: "url"` downloads), used by the next download(s). */
export type CdnFault =
  /** An HTTP error, e.g. 403 for an expired signed link (with S3's XML body), 404, 410, 500, 503. */
  | { kind: 'status'; status: number; body?: string; contentType?: string }
  /** No answer for this long: the download times out. */
  | { kind: 'stall'; ms: number }
  /** A 200 whose body is this many bytes. */
  | { kind: 'oversize'; bytes: number }
  /** A 200 that is an HTML page, not an image (a login wall, a CDN error page). */
  | { kind: 'not-image' }
  /** Half the image, then the connection closes. */
  | { kind: 'drop' };

/** A download the fake CDN received. */
export interface CdnCall {
  path: string;
  userAgent: string | undefined;
}

export interface RecordedCall {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  /** Errors of the body against Together's OpenAPI request schema (empty when it conforms). */
  schemaErrors: string[];
  /** Set when the client closed the connection before the fake answered. */
  clientClosedEarly: boolean;
  /**
   * What the fake produced for this call, as Together bills it: the images it generated (even if the client was
   * gone by then), or the tokens of the answer it sent (a stream cut short counts the tokens written).
   */
  served?: { images: number } | { promptTokens: number; completionTokens: number };
  /** The injected fault this request met, if any. */
  fault?: TogetherFault['kind'];
}

export interface FakeTogetherOptions {
  apiKey?: string;
  /** Models the fake knows; others get Together's 404. */
  imageModels?: string[];
  chatModels?: string[];
  /**
   * What `GET /v1/models` lists instead of entries made from `imageModels` and `chatModels` (tests of types and
   * prices). The fake keeps serving the models it knows; `FakeTogether.models` can be changed while it runs.
   */
  listedModels?: FakeModelInfo[];
  /**
   * Models on the account's dedicated endpoints: served like the others, and listed only by
   * `GET /v1/models?dedicated=true`, billed by the hour of uptime.
   */
  dedicatedModels?: Array<{ id: string; type: 'image' | 'chat' }>;
  /** Where `usage` appears in a stream: on the finish chunk (Together's observed behaviour), a trailing chunk, or nowhere. */
  usagePlacement?: 'finish' | 'trailing' | 'none';
  /** Serve `response_format: "url"` images from an https server with this key and certificate. */
  tls?: { key: string; cert: string };
  /** Fixed latency added to every successful answer. */
  latencyMs?: number;
  /**
   * Answers 429 (Together's `rate_limit_exceeded`, with `x-ratelimit-*` headers) to an image request that would
   * make more than this many images in the last 60 s. Refused images do not count.
   */
  imagesPerMinute?: number;
  /** Render one image per size and format and answer every request with it (rendering takes ~25 ms; load tests). */
  reuseImages?: boolean;
  /**
   * Image models that refuse `image_loras` with Together's 400 (as serverless FLUX.2 does in some accounts); they
   * still make images without LoRAs.
   */
  loraRefusingModels?: string[];
  /** Models that answer 403 `third_party_data_sharing_blocked` until the organization allows passthrough models. */
  dataSharingBlockedModels?: string[];
  /** Models Together no longer serves without a dedicated endpoint: 400 `model_not_available`, "non-serverless". */
  goneModels?: string[];
  /**
   * Chat models that read `image_url` parts; when given, any other chat model answers a request with an image
   * with a 400 (a text-only model given a picture). Absent: every chat model reads images.
   */
  visionModels?: string[];
  /** The largest source image (a data URL's bytes) the fake takes; larger is Together's 400 (fake-together-edits.ts). */
  maxSourceBytes?: number;
}

/** One `ModelInfo` of `GET /v1/models`, as Together's OpenAPI document describes it. */
export interface FakeModelInfo {
  id: string;
  object: 'model';
  created: number;
  type: string;
  display_name?: string;
  organization?: string;
  context_length?: number;
  /** Chat and language models: `input` and `output` in USD per 1M tokens; image models: no documented unit. */
  pricing?: { hourly: number; input: number; output: number; base: number; finetune: number };
}

const DEFAULT_KEY = 'together-test-key';
// FLUX.1-dev-lora is deprecated and no longer served; FLUX.2-dev is lorabot's default image model.
const DEFAULT_IMAGE_MODELS = ['black-forest-labs/FLUX.2-dev'];
const DEFAULT_CHAT_MODELS = ['meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo'];
/** Serverless per-token prices (USD per 1M tokens) the fake lists by default. */
const DEFAULT_CHAT_PRICES: Record<string, number> = { 'meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo': 0.18 };

/** A `ModelInfo` as Together lists it; `pricing` fields not given are 0, as Together lists them. */
export function modelInfo(
  id: string,
  type: string,
  pricing: Partial<NonNullable<FakeModelInfo['pricing']>> = {},
): FakeModelInfo {
  const [organization = 'together', name = id] = id.includes('/') ? id.split('/') : [undefined, id];
  return {
    id,
    object: 'model',
    created: 1_732_000_000,
    type,
    display_name: name,
    organization,
    ...(type === 'chat' || type === 'language' ? { context_length: 131_072 } : {}),
    pricing: { hourly: 0, input: 0, output: 0, base: 0, finetune: 0, ...pricing },
  };
}

/**
 * A local stand-in for Together's inference API that speaks its wire format: it checks every request body against
 * Together's OpenAPI schema and the documented bounds, answers with Together's error shape, returns real image
 * bytes and SSE streams, records every call and injects faults on demand.
 */
export class FakeTogether {
  readonly calls: RecordedCall[] = [];
  /** Fine-tunes and upload jobs (fake-together-finetunes.ts). */
  readonly fineTunes = new FakeFineTunes();
  /**
   * Every image the fake generated, in order: tests compare delivered bytes with these. An image is generated (and
   * answered 200, as Together bills it) even when the client has gone by the time it is ready.
   */
  readonly generated: Buffer[] = [];
  /** Text the chat model answers with; by default an echo of the last user message (its text parts). */
  reply: (body: ChatBody) => string = (body) => `You asked: ${textOf(body.messages.at(-1)?.content)}`;
  /**
   * The pixel size of images by URL, for the image tokens a vision request reports (Together's tile rule); an
   * image of unknown size counts as the largest, 2 × 2 tiles.
   */
  readonly imageSizes = new Map<string, { width: number; height: number }>();
  /** Pause between two streamed chunks (ms): a model writing at a human-visible pace. */
  chunkDelayMs = 0;
  /**
   * Requests the fake is still working on, whether or not their client is still connected (a held request whose
   * client went away is still generated and answered, as Together bills it).
   */
  handling = 0;
  /** Requests received and not yet answered (or given up by their client), now and at most. */
  inFlight = 0;
  peakInFlight = 0;
  /** Image requests refused with 429 by `imagesPerMinute`. */
  rateLimited = 0;
  /** When each image counted by `imagesPerMinute` was accepted (ms), oldest first. */
  private readonly acceptedImages: number[] = [];
  private readonly faults: Array<{ path: string; fault: TogetherFault }> = [];
  /** Source image links that Together cannot fetch, or finds too large (`failSource`). */
  private readonly sourceFaults = new Map<string, SourceFault>();
  private readonly cdnFaults: CdnFault[] = [];
  /** Every download the CDN received, with the User-Agent it carried. */
  readonly cdnCalls: CdnCall[] = [];
  private readonly images = new Map<string, Buffer>();
  private readonly rendered = new Map<string, Buffer>();
  private server?: Server;
  private cdn?: Server;
  private readonly sockets = new Set<Socket>();
  baseUrl = '';
  cdnUrl = '';
  readonly apiKey: string;
  /** What `GET /v1/models` lists (serverless models); tests may change types and prices while the fake runs. */
  models: FakeModelInfo[];

  constructor(private readonly options: FakeTogetherOptions = {}) {
    this.apiKey = options.apiKey ?? DEFAULT_KEY;
    this.models = options.listedModels ?? [
      ...(options.imageModels ?? DEFAULT_IMAGE_MODELS).map((id) => modelInfo(id, 'image')),
      ...(options.chatModels ?? DEFAULT_CHAT_MODELS).map((id) => {
        const price = DEFAULT_CHAT_PRICES[id];
        return modelInfo(id, 'chat', price ? { input: price, output: price } : {});
      }),
    ];
  }

  async start(): Promise<this> {
    return this.startOn(0);
  }

  /** Starts on a given port (0: any free one). */
  async startOn(port: number): Promise<this> {
    this.server = createHttpServer((req, res) => {
      this.handling++;
      this.handle(req, res)
        .catch((error: unknown) => {
          res.destroy(error instanceof Error ? error : new Error(String(error)));
        })
        .finally(() => this.handling--);
    });
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await listen(this.server, port);
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
    if (this.options.tls) {
      this.cdn = createHttpsServer(this.options.tls, (req, res) => this.serveImage(req, res));
      await listen(this.cdn, 0);
      this.cdnUrl = `https://127.0.0.1:${(this.cdn.address() as AddressInfo).port}`;
    }
    return this;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(
      [this.server, this.cdn].map((s) => (s ? new Promise((r) => s.close(() => r(undefined))) : undefined)),
    );
  }

  /** Queues a fault for the next `times` requests to `path` (`/images/generations` or `/chat/completions`). */
  inject(path: '/images/generations' | '/chat/completions', fault: TogetherFault, times = 1): void {
    for (let i = 0; i < times; i++) this.faults.push({ path, fault });
  }

  /** Makes Together refuse this source image link from now on: it cannot fetch it, or it is too large. */
  failSource(url: string, fault: SourceFault): void {
    this.sourceFaults.set(url, fault);
  }

  /** Queues a fault for the next `times` image downloads from the CDN. */
  injectCdn(fault: CdnFault, times = 1): void {
    for (let i = 0; i < times; i++) this.cdnFaults.push(fault);
  }

  callsTo(path: string): RecordedCall[] {
    return this.calls.filter((call) => call.path === path);
  }

  private takeFault(path: string): TogetherFault | undefined {
    const index = this.faults.findIndex((f) => f.path === path);
    return index === -1 ? undefined : this.faults.splice(index, 1)[0]!.fault;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const [path = '', query = ''] = (req.url ?? '').replace(/^\/v1/, '').split('?');
    if (req.method === 'GET' && path === '/models')
      return this.listModels(req, res, new URLSearchParams(query));
    if (this.fineTunes.handles(req.method, path)) return this.fineTunes.serve(req, res, path, this.apiKey);
    if (req.method !== 'POST' || !['/images/generations', '/chat/completions'].includes(path)) {
      return sendError(
        res,
        404,
        `No route for ${req.method} ${req.url}`,
        'invalid_request_error',
        'not_found',
      );
    }
    let fault = this.takeFault(path);
    if (fault?.kind === 'drop-before-request-body') {
      this.calls.push({
        path,
        headers: req.headers,
        body: undefined,
        schemaErrors: [],
        clientClosedEarly: false,
      });
      req.socket.destroy();
      return;
    }
    const raw = (await readBody(req)).toString('utf8');
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      body = raw;
    }
    const spec = togetherSpec();
    const schemaErrors = spec.errors(spec.requestBodyPointer(path, 'post'), body);
    const call: RecordedCall = {
      path,
      headers: req.headers,
      body,
      schemaErrors,
      clientClosedEarly: false,
      ...(fault ? { fault: fault.kind } : {}),
    };
    this.calls.push(call);
    this.inFlight++;
    this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
    res.on('close', () => {
      this.inFlight--;
      if (!res.writableFinished) call.clientClosedEarly = true;
    });

    if (fault?.kind === 'delay') {
      await sleep(fault.ms);
      fault = undefined;
    }
    if (fault?.kind === 'drop-after-request-body') {
      req.socket.destroy();
      return;
    }
    if (req.headers.authorization !== `Bearer ${this.apiKey}`) {
      return sendError(
        res,
        401,
        'Invalid API key provided. You can find your API key at https://api.together.xyz/settings/api-keys.',
        'invalid_request_error',
        'invalid_api_key',
      );
    }
    if (fault?.kind === 'status') {
      res.writeHead(fault.status, {
        'content-type': 'application/json',
        'x-request-id': randomUUID(),
        ...fault.headers,
      });
      res.end(fault.body ?? JSON.stringify(errorBody(`Injected ${fault.status}`, 'server_error', null)));
      return;
    }
    if (schemaErrors.length > 0) {
      return sendError(
        res,
        400,
        `Invalid request: ${schemaErrors.join('; ')}`,
        'invalid_request_error',
        null,
      );
    }
    if (this.refuseModel(path, body as ImageBody | ChatBody, res)) return;
    if (path === '/images/generations' && this.refuseSources(body as ImageBody, res)) return;
    if (path === '/images/generations' && this.overImageLimit(body as ImageBody, res)) return;
    if (this.options.latencyMs) await sleep(this.options.latencyMs);
    if (path === '/images/generations') return this.generateImages(body as ImageBody, res, { call, fault });
    return this.chat(body as ChatBody, res, { call, fault });
  }

  private renderOnce(spec: Parameters<typeof renderImage>[0]): Buffer {
    const key = `${spec.width}x${spec.height}.${spec.format}`;
    let bytes = this.rendered.get(key);
    if (!bytes) {
      bytes = renderImage(spec);
      this.rendered.set(key, bytes);
    }
    return bytes;
  }

  /** Together's answers for a model this account cannot use (see the options), in its real error shapes. */
  private refuseModel(path: string, body: ImageBody | ChatBody, res: ServerResponse): boolean {
    const { model } = body;
    if (this.options.dataSharingBlockedModels?.includes(model)) {
      sendError(
        res,
        403,
        'This model requires third-party data sharing to be enabled for your organization.',
        'invalid_request_error',
        'third_party_data_sharing_blocked',
      );
      return true;
    }
    if (this.options.goneModels?.includes(model)) {
      sendError(
        res,
        400,
        `Unable to access non-serverless model ${model}. Please visit https://api.together.ai/models/${model} to create and start a new dedicated endpoint for the model.`,
        'invalid_request_error',
        'model_not_available',
      );
      return true;
    }
    const loras = path === '/images/generations' ? (body as ImageBody).image_loras : undefined;
    if (loras?.length && this.options.loraRefusingModels?.includes(model)) {
      sendError(res, 400, 'image_loras is not supported', 'invalid_request_error', null);
      return true;
    }
    return false;
  }

  /** Together's 400 for source images the model does not take, cannot fetch, or finds too large. */
  private refuseSources(body: ImageBody, res: ServerResponse): boolean {
    const refusal = editRefusal(body, {
      faults: this.sourceFaults,
      maxSourceBytes: this.options.maxSourceBytes ?? DEFAULT_MAX_SOURCE_BYTES,
    });
    if (!refusal) return false;
    res.writeHead(refusal.status, { 'content-type': 'application/json', 'x-request-id': randomUUID() });
    res.end(
      JSON.stringify({
        error: { message: refusal.message, type: 'invalid_request_error', param: refusal.param, code: null },
      }),
    );
    return true;
  }

  /** Refuses an image request past `imagesPerMinute` (sliding 60 s window); otherwise counts its images. */
  private overImageLimit(body: ImageBody, res: ServerResponse): boolean {
    const limit = this.options.imagesPerMinute;
    if (limit === undefined) return false;
    const now = Date.now();
    while (this.acceptedImages.length > 0 && this.acceptedImages[0]! <= now - 60_000)
      this.acceptedImages.shift();
    const n = body.n ?? 1;
    if (this.acceptedImages.length + n > limit) {
      this.rateLimited++;
      const reset = Math.ceil(((this.acceptedImages[0] ?? now) + 60_000 - now) / 1000);
      res.writeHead(429, {
        'content-type': 'application/json',
        'x-request-id': randomUUID(),
        'x-ratelimit-limit': String(limit),
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': String(reset),
      });
      res.end(JSON.stringify(errorBody('Rate limit exceeded', 'rate_limit_exceeded', 'rate_limit_exceeded')));
      return true;
    }
    for (let i = 0; i < n; i++) this.acceptedImages.push(now);
    return false;
  }

  /**
   * `GET /v1/models`: a `ModelInfoList` of the serverless models, or with `?dedicated=true` of the models on the
   * account's dedicated endpoints (priced by the hour of uptime).
   */
  private listModels(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): void {
    const dedicated = query.get('dedicated') === 'true';
    this.calls.push({
      path: dedicated ? '/models?dedicated=true' : '/models',
      headers: req.headers,
      body: undefined,
      schemaErrors: [],
      clientClosedEarly: false,
    });
    if (req.headers.authorization !== `Bearer ${this.apiKey}`) {
      sendError(res, 401, 'Invalid API key provided.', 'invalid_request_error', 'invalid_api_key');
      return;
    }
    const list = dedicated
      ? (this.options.dedicatedModels ?? []).map(({ id, type }) => modelInfo(id, type, { hourly: 3.99 }))
      : this.models;
    res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': randomUUID() });
    res.end(JSON.stringify(list));
  }

  /** Whether the fake serves `model` for `kind` requests: its own models and the dedicated ones. */
  private serves(kind: 'image' | 'chat', model: string): boolean {
    if (this.options.dedicatedModels?.some((m) => m.id === model && m.type === kind)) return true;
    if (kind === 'image') return (this.options.imageModels ?? DEFAULT_IMAGE_MODELS).includes(model);
    return !this.options.chatModels || this.options.chatModels.includes(model);
  }

  /** A picture sent to a chat model that does not read pictures: a 400, as Together answers one. */
  private refuseImages(body: ChatBody, res: ServerResponse): boolean {
    const vision = this.options.visionModels;
    if (!vision || vision.includes(body.model)) return false;
    if (!body.messages.some((m) => imageUrls(m.content).length > 0)) return false;
    sendError(
      res,
      400,
      `Model ${body.model} does not support image inputs. Remove the image_url content or use a vision model.`,
      'invalid_request_error',
      null,
    );
    return true;
  }

  private imageTokensOf(content: ChatContent | undefined): number {
    return imageUrls(content).reduce((sum, url) => {
      const size = this.imageSizes.get(url);
      if (!size) return sum + 4 * 1601;
      const tiles = (side: number) => (side < 560 ? 1 : 2);
      return sum + tiles(size.width) * tiles(size.height) * 1601;
    }, 0);
  }

  private generateImages(
    body: ImageBody,
    res: ServerResponse,
    { call, fault }: { call: RecordedCall; fault: TogetherFault | undefined },
  ): void {
    if (!this.serves('image', body.model)) {
      modelNotFound(res, body.model);
      return;
    }
    const problem = imageBoundsProblem(body);
    if (problem) {
      sendError(res, 400, problem, 'invalid_request_error', null);
      return;
    }
    const n = body.n ?? 1;
    const format: 'png' | 'jpeg' = body.output_format === 'png' ? 'png' : 'jpeg';
    // An image made from images is derived from them: a test can tell from the bytes which sources were used.
    const tint = sourceTint(sourcesOf(body));
    const data = [];
    for (let index = 0; index < n; index++) {
      const spec = {
        width: body.width ?? 1024,
        height: body.height ?? 1024,
        seed: (body.seed ?? 0) + index + tint,
        format,
      };
      const bytes = this.options.reuseImages ? this.renderOnce(spec) : renderImage(spec);
      if (!this.options.reuseImages) this.generated.push(bytes);
      if (body.response_format === 'url') {
        if (!this.cdnUrl) throw new Error('FakeTogether needs `tls` to serve url images');
        const id = `${randomUUID()}.${format === 'png' ? 'png' : 'jpg'}`;
        this.images.set(id, bytes);
        data.push({ index, url: `${this.cdnUrl}/images/${id}`, type: 'url' });
      } else {
        data.push({
          index,
          b64_json: bytes.toString('base64'),
          type: 'b64_json',
          timings: { inference: 0.8 },
        });
      }
    }
    call.served = { images: n };
    const payload = JSON.stringify({ id: randomUUID(), model: body.model, object: 'list', data });
    this.finish(res, payload, fault);
  }

  private async chat(
    body: ChatBody,
    res: ServerResponse,
    { call, fault }: { call: RecordedCall; fault: TogetherFault | undefined },
  ): Promise<void> {
    if (!this.serves('chat', body.model)) {
      modelNotFound(res, body.model);
      return;
    }
    if (this.refuseImages(body, res)) return;
    const text = this.reply(body);
    const usage = {
      // Together counts images among the prompt tokens, at 1,601 tokens per 560-pixel tile (at most 2 × 2).
      prompt_tokens: body.messages.reduce(
        (sum, m) => sum + countTokens(textOf(m.content)) + this.imageTokensOf(m.content),
        0,
      ),
      completion_tokens: countTokens(text),
      total_tokens: 0,
    };
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    const id = randomUUID();
    const created = Math.floor(Date.now() / 1000);
    if (!body.stream) {
      call.served = { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens };
      const payload = JSON.stringify({
        id,
        object: 'chat.completion',
        created,
        model: body.model,
        choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: text } }],
        usage,
      });
      this.finish(res, payload, fault);
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      'x-request-id': randomUUID(),
    });
    const pieces = text.match(/\S+\s*|\s+/g) ?? [];
    const placement = this.options.usagePlacement ?? 'finish';
    const chunk = (content: string | null, finish: string | null, withUsage: boolean, choices = true) => ({
      id,
      object: 'chat.completion.chunk',
      created,
      model: body.model,
      choices: choices
        ? [{ index: 0, finish_reason: finish, delta: { role: 'assistant', content }, logprobs: null }]
        : [],
      usage: withUsage ? usage : null,
    });
    const events = pieces.map((piece) => chunk(piece, null, false));
    events.push(chunk('', 'eos', placement === 'finish'));
    if (placement === 'trailing') events.push(chunk(null, null, true, false));
    let sent = 0;
    const served = { promptTokens: usage.prompt_tokens, completionTokens: 0 };
    call.served = served;
    // A fault after the last chunk strikes before `[DONE]` (usage has been sent by then).
    for (const event of [...events, undefined]) {
      if (this.chunkDelayMs > 0 && sent > 0) await sleep(this.chunkDelayMs);
      if (res.destroyed) return;
      if (fault && 'afterChunks' in fault && sent === fault.afterChunks) {
        if (fault.kind === 'stream-error') {
          res.write(
            `data: ${JSON.stringify(errorBody(fault.message ?? 'Internal error during generation', 'server_error', null))}\n\n`,
          );
          res.end();
          return;
        }
        if (fault.kind === 'stream-malformed') {
          res.write('data: {"id": "broken", "choices": [\n\n');
          res.end('data: [DONE]\n\n');
          return;
        }
        // Let what was written reach the client first, then cut the connection.
        setTimeout(() => res.socket?.destroy(), 30);
        return;
      }
      if (event === undefined) break;
      res.write(`data: ${JSON.stringify(event)}\n\n`);
      served.completionTokens += countTokens(event.choices[0]?.delta.content ?? '');
      sent++;
    }
    res.end('data: [DONE]\n\n');
  }

  private finish(res: ServerResponse, payload: string, fault: TogetherFault | undefined): void {
    const headers = { 'content-type': 'application/json', 'x-request-id': randomUUID() };
    if (fault?.kind === 'malformed-json') {
      res.writeHead(200, headers);
      res.end(payload.slice(0, Math.floor(payload.length / 2)));
      return;
    }
    if (fault?.kind === 'drop-mid-response') {
      res.writeHead(200, { ...headers, 'content-length': String(Buffer.byteLength(payload)) });
      res.write(payload.slice(0, Math.floor(payload.length / 2)));
      setTimeout(() => res.socket?.destroy(), 20);
      return;
    }
    res.writeHead(200, headers);
    res.end(payload);
  }

  private serveImage(req: IncomingMessage, res: ServerResponse): void {
    const path = req.url ?? '';
    this.cdnCalls.push({ path, userAgent: req.headers['user-agent'] });
    // Together's CDN rejects a blank User-Agent with 403 (docs: images-overview).
    if (!req.headers['user-agent']) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('Forbidden');
      return;
    }
    const bytes = this.images.get(path.replace(/^\/images\//, ''));
    if (!bytes) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
      return;
    }
    const contentType = path.endsWith('.png') ? 'image/png' : 'image/jpeg';
    const fault = this.cdnFaults.shift();
    if (fault) {
      serveCdnFault(res, fault, bytes, contentType);
      return;
    }
    res.writeHead(200, { 'content-type': contentType, 'content-length': bytes.length });
    res.end(bytes);
  }
}

/** What a CDN in trouble sends: real statuses and bodies, a stall, a body too large, a page, a cut. */
function serveCdnFault(res: ServerResponse, fault: CdnFault, bytes: Buffer, contentType: string): void {
  switch (fault.kind) {
    case 'status':
      res.writeHead(fault.status, { 'content-type': fault.contentType ?? 'application/xml' });
      res.end(fault.body ?? expiredLinkBody(fault.status));
      return;
    case 'stall':
      setTimeout(() => res.destroy(), fault.ms);
      return;
    case 'oversize':
      res.writeHead(200, { 'content-type': contentType, 'content-length': fault.bytes });
      res.end(
        Buffer.concat([bytes, Buffer.alloc(Math.max(0, fault.bytes - bytes.length))]).subarray(
          0,
          fault.bytes,
        ),
      );
      return;
    case 'not-image':
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><html><body>Sign in to continue</body></html>');
      return;
    case 'drop':
      res.writeHead(200, { 'content-type': contentType, 'content-length': bytes.length });
      res.write(bytes.subarray(0, Math.floor(bytes.length / 2)));
      setTimeout(() => res.socket?.destroy(), 20);
  }
}

/** An object store's answer to a signed link past its expiry (403) or to one that is gone (404/410). */
function expiredLinkBody(status: number): string {
  const code = status === 403 ? 'AccessDenied' : 'NoSuchKey';
  const message = status === 403 ? 'Request has expired' : 'The specified key does not exist.';
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
}

export interface ImageBody {
  model: string;
  prompt: string;
  width?: number;
  height?: number;
  steps?: number;
  n?: number;
  seed?: number;
  response_format?: 'base64' | 'url';
  output_format?: 'jpeg' | 'png';
  image_loras?: Array<{ path: string; scale: number }>;
  image_url?: string;
  reference_images?: string[];
}

export interface ChatBody {
  model: string;
  messages: Array<{ role: string; content: ChatContent }>;
  max_tokens?: number;
  stream?: boolean;
}

/** The bounds Together documents but its OpenAPI schema does not declare (together-contract.md §2.1). */
function imageBoundsProblem(body: ImageBody): string | undefined {
  if (body.n !== undefined && (body.n < 1 || body.n > 4)) return 'n must be between 1 and 4';
  if (body.steps !== undefined && (body.steps < 1 || body.steps > 50))
    return 'steps must be between 1 and 50';
  for (const side of ['width', 'height'] as const) {
    const value = body[side];
    if (value !== undefined && (value % 8 !== 0 || value < 64 || value > 2048)) {
      return `${side} must be a multiple of 8 between 64 and 2048`;
    }
  }
  if ((body.image_loras?.length ?? 0) > 2) return 'You can add up to 2 LoRAs per image';
  if (body.prompt.trim() === '') return 'prompt must not be empty';
  return undefined;
}

/** A message's content: text, or parts (text and images) for a vision model. */
type ChatContent = string | Array<{ type: string; text?: string; image_url?: { url: string } }>;

function textOf(content: ChatContent | undefined): string {
  if (content === undefined) return '';
  if (typeof content === 'string') return content;
  return content.flatMap((part) => (part.type === 'text' && part.text ? [part.text] : [])).join('\n');
}

function imageUrls(content: ChatContent | undefined): string[] {
  if (!content || typeof content === 'string') return [];
  return content.flatMap((part) => (part.type === 'image_url' && part.image_url ? [part.image_url.url] : []));
}

function countTokens(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

function errorBody(message: string, type: string, code: string | null) {
  return { error: { message, type, param: null, code } };
}

function sendError(
  res: ServerResponse,
  status: number,
  message: string,
  type: string,
  code: string | null,
): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': randomUUID() });
  res.end(JSON.stringify(errorBody(message, type, code)));
}

function modelNotFound(res: ServerResponse, model: string): void {
  sendError(
    res,
    404,
    `Unable to access model ${model}. Please visit https://api.together.ai/models to view the list of supported models.`,
    'invalid_request_error',
    'model_not_available',
  );
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
