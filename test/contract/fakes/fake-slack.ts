import { createHmac, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { readBody } from './http-body.js';
import { type OpenApiValidator, slackSpec } from './openapi-validator.js';

/** A fault for the next call(s) to one Web API method. */
export type SlackFault =
  | { kind: 'rate-limited'; retryAfterSeconds: number }
  /** Never answers and never applies the call: as if the request was lost on the way. */
  | { kind: 'hang' }
  | { kind: 'http'; status: number }
  | { kind: 'error'; error: string };

export interface SlackApiCall {
  method: string;
  args: Record<string, unknown>;
  token: string | undefined;
  /** What the fake answered (`ok:true`, an error code, or an HTTP status). */
  outcome: string;
  at: number;
  /**
   * Errors of the arguments against the owned Slack schema (test/contract/schemas/slack.openapi.json), after
   * decoding a form body by the schema's types; empty when they conform or the schema does not describe the method.
   */
  schemaErrors: string[];
}

export interface SlackMessage {
  channel: string;
  ts: string;
  thread_ts?: string;
  text: string;
  blocks?: unknown[];
  /** Every text this message had, oldest first (chat.update appends). */
  history: string[];
  /** The message's metadata (`event_type`, `event_payload`), returned only to `include_all_metadata`. */
  metadata?: { event_type: string; event_payload: Record<string, unknown> };
  /**
   * A streamed message (`chat.startStream`): true until `chat.stopStream`; `chunks` are the chunks and
   * `markdown_text` pieces it received, in order.
   */
  streaming?: boolean;
  chunks?: Array<Record<string, unknown>>;
}

/** A Home tab published with `views.publish`. */
export interface PublishedHome {
  user: string;
  view: Record<string, unknown>;
  at: number;
}

export interface SharedFile {
  id: string;
  filename: string;
  bytes: Buffer;
  channel: string;
  thread_ts: string | undefined;
  /** The message that shares it (a file shared into a thread is a reply there). */
  ts: string;
}

/** How a hosted file's download misbehaves. */
export type SlackFileFault =
  /** No answer for this long (then the file, if the client is still there). */
  | { kind: 'stall'; ms: number }
  /** An HTTP error, e.g. 404 for a deleted file. */
  | { kind: 'status'; status: number }
  /** A redirect to `location`. */
  | { kind: 'redirect'; location: string }
  /** The bytes without a `content-length` (chunked), so only counting them tells their size. */
  | { kind: 'unsized' };

/** A file someone shared in Slack, served at its `url_private` to the bot token only. */
export interface HostedFile {
  id: string;
  name: string;
  mimetype: string;
  size: number;
  url_private: string;
  bytes: Buffer;
  fault?: SlackFileFault;
}

/** One request for a hosted file: which file, the token it carried, and what the fake answered. */
export interface FileDownload {
  id: string;
  token: string | undefined;
  outcome: string;
}

export interface ResponseUrlPost {
  id: string;
  body: Record<string, unknown>;
}

/** A message only one person sees (`chat.postEphemeral`). */
export interface EphemeralMessage {
  channel: string;
  user: string;
  text: string;
  blocks?: unknown[];
  thread_ts?: string;
}

/** An assistant thread (Slack's AI app view, in a person's DM with the app), as the person sees it. */
export interface AssistantThread {
  /** The DM between the person and the app. */
  channel: string;
  threadTs: string;
  userId: string;
  title?: string;
  /** Every loading status set, oldest first; an empty one clears it. */
  statuses: string[];
  /** The suggested prompts last set, with their list's title. */
  prompts?: { title?: string; prompts: Array<{ title: string; message: string }> };
}

/** An Events API request body (`event_callback`), as Slack posts it to the app. */
export type EventEnvelope = Record<string, unknown> & { event: Record<string, unknown> };

/** A modal opened with `views.open`, as the person sees it. */
export interface OpenedView {
  id: string;
  triggerId: string;
  /** How long after the interaction (its trigger) the view was opened, in ms. */
  afterMs: number;
  view: Record<string, unknown>;
}

/**
 * A local Slack Web API that Bolt and WebClient talk to through `slackApiUrl`: the methods lorabot calls, the
 * external upload URL it hands out, and `response_url` endpoints allowing 5 uses in 30 minutes. It records every
 * call, enforces Slack's documented limits, and answers 429 with `Retry-After` or `ok:false` on demand.
 * @see https://docs.slack.dev/reference/methods
 */
export class FakeSlack {
  readonly calls: SlackApiCall[] = [];
  readonly messages: SlackMessage[] = [];
  /** The messages by channel and ts, so a lookup stays cheap under load (the benchmark posts thousands). */
  private readonly messageIndex = new Map<string, SlackMessage>();
  readonly files: SharedFile[] = [];
  readonly responses: ResponseUrlPost[] = [];
  /** Files people shared, by id (`hostFile`), and every request for one. */
  readonly hostedFiles = new Map<string, HostedFile>();
  readonly fileDownloads: FileDownload[] = [];
  readonly ephemerals: EphemeralMessage[] = [];
  readonly views: OpenedView[] = [];
  /** Assistant threads by `channel ts`, opened with `openAssistantThread`. */
  readonly assistantThreads = new Map<string, AssistantThread>();
  /** Every Home tab published, oldest first (`homeOf` gives a person's current one). */
  readonly homes: PublishedHome[] = [];
  readonly botToken: string;
  readonly teamId = 'T0LORABOT';
  readonly botUserId = 'ULORABOT';
  /** The fake's clock (ms), for `response_url` expiry. */
  now: () => number = Date.now;
  baseUrl = '';
  /** Socket Mode: the WebSocket URL `apps.connections.open` hands out (a `FakeSlackSocket`); unset, it fails. */
  socketModeUrl?: string;
  private readonly faults: Array<{ method: string; fault: SlackFault; skip: number }> = [];
  private readonly uploads = new Map<string, { filename: string; length: number; bytes?: Buffer }>();
  private readonly responseUrls = new Map<string, { createdAt: number; uses: number }>();
  /** Trigger ids handed out with interactions: each opens one view within 3 seconds. */
  private readonly triggers = new Map<string, { createdAt: number; used: boolean }>();
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private tsCounter = 0;

  constructor(options: { botToken?: string } = {}) {
    this.botToken = options.botToken ?? 'xoxb-fake-slack-token';
  }

  get apiUrl(): string {
    return `${this.baseUrl}/api/`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: false, error: 'fatal_error', detail: String(error) }));
      });
    });
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server?.close(() => resolve(undefined)));
  }

  /** A fresh `response_url` for a slash command payload. */
  newResponseUrl(): string {
    const id = randomUUID();
    this.responseUrls.set(id, { createdAt: this.now(), uses: 0 });
    return `${this.baseUrl}/commands/${this.teamId}/${id}`;
  }

  /** A fresh `trigger_id` for an interaction payload (a press, a shortcut). */
  newTriggerId(): string {
    const id = `${Date.now()}.${randomUUID().slice(0, 8)}`;
    this.triggers.set(id, { createdAt: this.now(), used: false });
    return id;
  }

  private remember(message: SlackMessage): void {
    this.messages.push(message);
    this.messageIndex.set(`${message.channel} ${message.ts}`, message);
  }

  /**
   * A message already in a channel (as if the gateway had posted it): a parent for jobs a test enqueues, or a
   * reply in the thread `threadTs`; posted `at` (ms, default now), as a channel's older messages were.
   */
  seedMessage(channel: string, text: string, threadTs?: string, at?: number): string {
    const ts = this.nextTs(at);
    this.remember({ channel, ts, text, history: [text], ...(threadTs ? { thread_ts: threadTs } : {}) });
    return ts;
  }

  /**
   * A file someone shared (a message's `files[]` entry): its `url_private` answers the bytes to a request with
   * the bot token, and, like Slack, a sign-in page (HTML, 200) to one without.
   * @see https://docs.slack.dev/messaging/working-with-files#authenticating
   */
  hostFile(
    bytes: Buffer,
    options: { name?: string; mimetype?: string; fault?: SlackFileFault } = {},
  ): HostedFile {
    const id = `F${randomUUID().replace(/-/g, '').slice(0, 10).toUpperCase()}`;
    const name = options.name ?? 'photo.png';
    const file: HostedFile = {
      id,
      name,
      mimetype: options.mimetype ?? 'image/png',
      size: bytes.length,
      url_private: `${this.baseUrl}/files-pri/${this.teamId}-${id}/${encodeURIComponent(name)}`,
      bytes,
      ...(options.fault ? { fault: options.fault } : {}),
    };
    this.hostedFiles.set(id, file);
    return file;
  }

  /**
   * A person opens lorabot's assistant view: Slack starts a thread in their DM with the app and sends
   * `assistant_thread_started`. Returns the thread and the event to deliver (`deliverEvent`).
   * @see https://docs.slack.dev/reference/events/assistant_thread_started
   */
  openAssistantThread(options: { userId: string; contextChannelId?: string }): {
    thread: AssistantThread;
    envelope: EventEnvelope;
  } {
    const channel = `D${options.userId.replace(/^U/, '')}`;
    const threadTs = this.seedMessage(channel, '');
    const thread: AssistantThread = { channel, threadTs, userId: options.userId, statuses: [] };
    this.assistantThreads.set(`${channel} ${threadTs}`, thread);
    const context = {
      ...(options.contextChannelId ? { channel_id: options.contextChannelId } : {}),
      team_id: this.teamId,
      enterprise_id: null,
    };
    const event = {
      type: 'assistant_thread_started',
      assistant_thread: { user_id: options.userId, context, channel_id: channel, thread_ts: threadTs },
      event_ts: this.nextTs(),
    };
    return { thread, envelope: this.envelope(event) };
  }

  /**
   * The person writes in an assistant thread (a `message.im` event in the thread), or presses one of its
   * suggested prompts, which Slack sends as the person's message.
   * @see https://docs.slack.dev/reference/events/message.im
   */
  assistantMessage(
    thread: AssistantThread,
    message: { text: string; userId?: string; files?: Array<Record<string, unknown>> },
  ): EventEnvelope {
    const ts = this.nextTs();
    return this.envelope({
      type: 'message',
      channel: thread.channel,
      channel_type: 'im',
      user: message.userId ?? thread.userId,
      text: message.text,
      ts,
      thread_ts: thread.threadTs,
      event_ts: ts,
      ...(message.files ? { subtype: 'file_share', files: message.files } : {}),
    });
  }

  private envelope(event: Record<string, unknown>): EventEnvelope {
    return {
      token: 'deprecated-verification-token',
      team_id: this.teamId,
      api_app_id: 'A0LORABOT',
      type: 'event_callback',
      event_id: `Ev${randomUUID().replace(/-/g, '').slice(0, 12).toUpperCase()}`,
      event_time: Math.floor(Date.now() / 1000),
      authorizations: [{ enterprise_id: null, team_id: this.teamId, user_id: this.botUserId, is_bot: true }],
      event,
    };
  }

  /** Faults for the next `times` calls to `method`, after letting `skip` calls through. */
  inject(method: string, fault: SlackFault, times = 1, skip = 0): void {
    for (let i = 0; i < times; i++) this.faults.push({ method, fault, skip });
  }

  callsTo(method: string): SlackApiCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  /** Top-level messages in a channel (what people see in the channel itself). */
  parents(channel: string): SlackMessage[] {
    return this.messages.filter((m) => m.channel === channel && !m.thread_ts);
  }

  /** The Home tab a person sees now: the last one published for them. */
  homeOf(user: string): Record<string, unknown> | undefined {
    return this.homes.filter((h) => h.user === user).at(-1)?.view;
  }

  thread(channel: string, ts: string): SlackMessage[] {
    return this.messages.filter((m) => m.channel === channel && m.thread_ts === ts);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.baseUrl);
    if (url.pathname.startsWith('/files-pri/')) return this.serveFile(url.pathname, req, res);
    const raw = await readBody(req);
    if (url.pathname.startsWith('/upload/')) return this.receiveUpload(url.pathname.slice(8), req, raw, res);
    if (url.pathname.startsWith('/commands/'))
      return this.receiveResponse(url.pathname.split('/').pop()!, raw, res);
    const method = url.pathname.replace(/^\/api\//, '');
    const args = await parseArgs(req, raw);
    const token =
      /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? (args.token as string | undefined);
    const formEncoded = !(req.headers['content-type'] ?? '').startsWith('application/json');
    const schemaErrors = argumentErrors(method, args, formEncoded);
    const call: SlackApiCall = { method, args, token, outcome: 'ok', at: Date.now(), schemaErrors };
    this.calls.push(call);
    const index = this.faults.findIndex((f) => f.method === method);
    const pending = index === -1 ? undefined : this.faults[index]!;
    if (pending && pending.skip > 0) {
      for (const f of this.faults) if (f.method === method) f.skip--;
    } else if (pending) {
      const { fault } = this.faults.splice(index, 1)[0]!;
      if (fault.kind === 'hang') {
        call.outcome = 'hung';
        return;
      }
      if (fault.kind === 'rate-limited') {
        call.outcome = 'HTTP 429';
        res.writeHead(429, {
          'retry-after': String(fault.retryAfterSeconds),
          'content-type': 'application/json',
        });
        res.end(JSON.stringify({ ok: false, error: 'ratelimited' }));
        return;
      }
      if (fault.kind === 'http') {
        call.outcome = `HTTP ${fault.status}`;
        res.writeHead(fault.status, { 'content-type': 'text/plain' });
        res.end('upstream error');
        return;
      }
      return this.reply(res, call, { ok: false, error: fault.error });
    }
    // Socket Mode's connection call takes the app-level token; every other method the bot token.
    const app = method === 'apps.connections.open' && token?.startsWith('xapp-');
    if (token !== this.botToken && !app) return this.reply(res, call, { ok: false, error: 'invalid_auth' });
    const handler = this.methods[method];
    if (!handler) return this.reply(res, call, { ok: false, error: 'unknown_method' });
    if (schemaErrors.length > 0) {
      // Slack's answer to arguments it cannot accept.
      return this.reply(res, call, {
        ok: false,
        error: 'invalid_arguments',
        response_metadata: { messages: schemaErrors.map((e) => `[ERROR] ${e}`) },
      });
    }
    const result = handler(args);
    return this.reply(res, call, result);
  }

  private reply(res: ServerResponse, call: SlackApiCall, body: Record<string, unknown>): void {
    if (body.ok === false) call.outcome = String(body.error);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private readonly methods: Record<string, (args: Record<string, unknown>) => Record<string, unknown>> = {
    'auth.test': () => ({
      ok: true,
      url: 'https://lorabot-test.slack.com/',
      team: 'lorabot test',
      user: 'lorabot',
      team_id: this.teamId,
      user_id: this.botUserId,
      bot_id: 'BLORABOT',
    }),
    'chat.postMessage': (args) => {
      const problem = this.checkMessage(args);
      if (problem) return { ok: false, error: problem };
      const channel = String(args.channel);
      if (args.thread_ts !== undefined) {
        const parent = this.messageIndex.get(`${channel} ${String(args.thread_ts)}`);
        // "Never use a reply's ts value; use its parent" (chat.postMessage docs).
        if (!parent || parent.thread_ts) return { ok: false, error: 'thread_not_found' };
      }
      const message: SlackMessage = {
        channel,
        ts: this.nextTs(),
        text: String(args.text ?? ''),
        history: [String(args.text ?? '')],
        ...(args.thread_ts !== undefined ? { thread_ts: String(args.thread_ts) } : {}),
        ...(args.blocks ? { blocks: args.blocks as unknown[] } : {}),
        ...(args.metadata ? { metadata: jsonArg(args.metadata) as SlackMessage['metadata'] } : {}),
      };
      this.remember(message);
      return { ok: true, channel, ts: message.ts, message: { text: message.text, ts: message.ts } };
    },
    'chat.update': (args) => {
      if (typeof args.ts !== 'string') return { ok: false, error: 'invalid_arguments' };
      const problem = this.checkMessage(args);
      if (problem) return { ok: false, error: problem };
      const message = this.messageIndex.get(`${String(args.channel)} ${args.ts}`);
      if (!message) return { ok: false, error: 'message_not_found' };
      message.text = String(args.text ?? '');
      message.history.push(message.text);
      if (args.blocks) message.blocks = args.blocks as unknown[];
      return { ok: true, channel: message.channel, ts: message.ts, text: message.text };
    },
    'chat.postEphemeral': (args) => {
      const problem = this.checkMessage(args);
      if (problem) return { ok: false, error: problem };
      if (!args.user) return { ok: false, error: 'user_not_in_channel' };
      this.ephemerals.push({
        channel: String(args.channel),
        user: String(args.user),
        text: String(args.text ?? ''),
        ...(args.blocks ? { blocks: args.blocks as unknown[] } : {}),
        ...(args.thread_ts !== undefined ? { thread_ts: String(args.thread_ts) } : {}),
      });
      return { ok: true, message_ts: this.nextTs() };
    },
    // A trigger opens one view, within 3 seconds of the interaction (docs: views.open, "Errors").
    'views.open': (args) => {
      const triggerId = String(args.trigger_id);
      const trigger = this.triggers.get(triggerId);
      if (!trigger) return { ok: false, error: 'invalid_trigger_id' };
      if (trigger.used) return { ok: false, error: 'exchanged_trigger_id' };
      if (this.now() - trigger.createdAt > 3000) return { ok: false, error: 'expired_trigger_id' };
      trigger.used = true;
      const view = (typeof args.view === 'string' ? JSON.parse(args.view) : args.view) as Record<
        string,
        unknown
      >;
      const opened: OpenedView = {
        id: `V${randomUUID().replace(/-/g, '').slice(0, 10).toUpperCase()}`,
        triggerId,
        afterMs: this.now() - trigger.createdAt,
        view,
      };
      this.views.push(opened);
      return { ok: true, view: { ...view, id: opened.id, team_id: this.teamId, state: { values: {} } } };
    },
    // Streams are thread replies addressed to a person (outside a DM, `recipient_user_id` and
    // `recipient_team_id` are required); `markdown_text` is at most 12,000 characters a call.
    'chat.startStream': (args) => {
      const channel = String(args.channel ?? '');
      if (!channel) return { ok: false, error: 'channel_not_found' };
      const parent = this.messageIndex.get(`${channel} ${String(args.thread_ts)}`);
      if (!parent || parent.thread_ts) return { ok: false, error: 'thread_not_found' };
      if (!channel.startsWith('D') && (!args.recipient_user_id || !args.recipient_team_id))
        return { ok: false, error: 'invalid_arguments' };
      const chunks = streamChunks(args);
      if (chunks.length === 0) return { ok: false, error: 'invalid_arguments' };
      const text = streamText(chunks);
      const message: SlackMessage = {
        channel,
        ts: this.nextTs(),
        thread_ts: String(args.thread_ts),
        text,
        history: [text],
        streaming: true,
        chunks,
      };
      this.remember(message);
      return { ok: true, channel, ts: message.ts };
    },
    'chat.appendStream': (args) => this.continueStream(args, false),
    'chat.stopStream': (args) => this.continueStream(args, true),
    // A Home tab: a `home` view of at most 100 blocks, per person.
    'views.publish': (args) => {
      const view = (typeof args.view === 'string' ? JSON.parse(args.view) : args.view) as Record<
        string,
        unknown
      >;
      if (!args.user_id) return { ok: false, error: 'invalid_arguments' };
      if (view?.type !== 'home') return { ok: false, error: 'invalid_arguments' };
      if (!Array.isArray(view.blocks) || view.blocks.length > 100)
        return { ok: false, error: 'invalid_blocks' };
      this.homes.push({ user: String(args.user_id), view, at: Date.now() });
      return { ok: true, view: { ...view, id: `VHOME${String(args.user_id)}`, team_id: this.teamId } };
    },
    'files.getUploadURLExternal': (args) => {
      const length = Number(args.length);
      if (!args.filename || !Number.isInteger(length) || length <= 0)
        return { ok: false, error: 'invalid_arguments' };
      const id = `F${randomUUID().replace(/-/g, '').slice(0, 10).toUpperCase()}`;
      this.uploads.set(id, { filename: String(args.filename), length });
      return { ok: true, upload_url: `${this.baseUrl}/upload/${id}`, file_id: id };
    },
    'files.completeUploadExternal': (args) => {
      const files = (typeof args.files === 'string' ? JSON.parse(args.files) : args.files) as Array<{
        id: string;
      }>;
      if (!Array.isArray(files) || files.length === 0) return { ok: false, error: 'invalid_arguments' };
      if (args.thread_ts !== undefined && typeof args.thread_ts !== 'string')
        return { ok: false, error: 'invalid_thread_ts' };
      const shared = [];
      for (const { id } of files) {
        const upload = this.uploads.get(id);
        if (!upload?.bytes) return { ok: false, error: 'file_not_found' };
        if (upload.bytes.length !== upload.length) return { ok: false, error: 'file_upload_size_mismatch' };
        const file: SharedFile = {
          id,
          filename: upload.filename,
          bytes: upload.bytes,
          channel: String(args.channel_id ?? ''),
          thread_ts: args.thread_ts as string | undefined,
          ts: this.nextTs(),
        };
        this.files.push(file);
        shared.push({ id, title: upload.filename });
      }
      return { ok: true, files: shared };
    },
    // Assistant threads: each method works on a thread the person opened (docs: "invalid_thread_ts").
    'assistant.threads.setStatus': (args) => {
      const thread = this.assistantThread(args);
      if (!thread) return { ok: false, error: 'invalid_thread_ts' };
      thread.statuses.push(String(args.status));
      return { ok: true };
    },
    'assistant.threads.setSuggestedPrompts': (args) => {
      const thread = this.assistantThread(args);
      if (!thread) return { ok: false, error: 'invalid_thread_ts' };
      const prompts = (typeof args.prompts === 'string' ? JSON.parse(args.prompts) : args.prompts) as Array<{
        title: string;
        message: string;
      }>;
      thread.prompts = { ...(args.title ? { title: String(args.title) } : {}), prompts };
      return { ok: true };
    },
    'assistant.threads.setTitle': (args) => {
      const thread = this.assistantThread(args);
      if (!thread) return { ok: false, error: 'invalid_thread_ts' };
      thread.title = String(args.title);
      return { ok: true };
    },
    // A thread: its parent, then its replies (files shared into it among them), oldest first, `limit` (default
    // 1000) a page; `response_metadata.next_cursor` leads to the next page, empty on the last.
    'conversations.replies': (args) => {
      const channel = String(args.channel);
      const ts = String(args.ts);
      const parent = this.messageIndex.get(`${channel} ${ts}`);
      if (!parent) return { ok: false, error: 'thread_not_found' };
      const replies = this.conversation(channel, ts, isTrue(args.include_all_metadata));
      return page([this.messageObject(parent, false), ...replies], args, 1000);
    },
    // A channel's (or DM's) top-level messages, newest first: those between `oldest` and `latest` (ts, each
    // left out unless `inclusive`), `limit` (default 100) a page, `response_metadata.next_cursor` to the next.
    'conversations.history': (args) => {
      const channel = String(args.channel);
      const oldest = args.oldest === undefined ? Number.NEGATIVE_INFINITY : Number(args.oldest);
      const latest = args.latest === undefined ? Number.POSITIVE_INFINITY : Number(args.latest);
      const inclusive = isTrue(args.inclusive);
      const inRange = (ts: number) => (inclusive ? ts >= oldest && ts <= latest : ts > oldest && ts < latest);
      const all = this.conversation(channel, undefined, isTrue(args.include_all_metadata))
        .filter((m) => inRange(Number(m.ts)))
        .reverse();
      return page(all, args, 100);
    },
    // The bot's DM with one person: its id is the id `chat.postMessage` took for the user.
    'conversations.open': (args) => {
      const users = String(args.users ?? '');
      if (!users || users.includes(',')) return { ok: false, error: 'not_supported_by_fake' };
      return { ok: true, channel: { id: users } };
    },
    'apps.connections.open': () =>
      this.socketModeUrl
        ? { ok: true, url: this.socketModeUrl }
        : { ok: false, error: 'not_supported_by_fake' },
  };

  private assistantThread(args: Record<string, unknown>): AssistantThread | undefined {
    return this.assistantThreads.get(`${String(args.channel_id)} ${String(args.thread_ts)}`);
  }

  /** `chat.appendStream` and `chat.stopStream`: only the app's own message, only while it streams. */
  private continueStream(args: Record<string, unknown>, stop: boolean): Record<string, unknown> {
    const message = this.messageIndex.get(`${String(args.channel)} ${String(args.ts)}`);
    if (!message) return { ok: false, error: 'message_not_found' };
    if (!message.streaming) return { ok: false, error: 'message_not_in_streaming_state' };
    const chunks = streamChunks(args);
    if (!stop && chunks.length === 0) return { ok: false, error: 'invalid_arguments' };
    const blocks = typeof args.blocks === 'string' ? JSON.parse(args.blocks) : args.blocks;
    if (blocks !== undefined && (!Array.isArray(blocks) || blocks.length > 50))
      return { ok: false, error: 'invalid_blocks' };
    message.chunks!.push(...chunks);
    message.text += streamText(chunks);
    message.history.push(message.text);
    if (stop) {
      message.streaming = false;
      if (blocks) message.blocks = blocks as unknown[];
    }
    return { ok: true, channel: message.channel, ts: message.ts };
  }

  /** Slack's documented limits for message text and blocks. */
  private checkMessage(args: Record<string, unknown>): string | undefined {
    if (!args.channel) return 'channel_not_found';
    const blocks = typeof args.blocks === 'string' ? JSON.parse(args.blocks) : args.blocks;
    if (!args.text && !blocks) return 'no_text';
    if (typeof args.text === 'string' && args.text.length > 40_000) return 'msg_too_long';
    if (args.thread_ts !== undefined && typeof args.thread_ts !== 'string') return 'invalid_thread_ts';
    if (blocks !== undefined) {
      if (!Array.isArray(blocks)) return 'invalid_blocks_format';
      if (blocks.length > 50) return 'invalid_blocks';
      for (const block of blocks as Array<{
        text?: { text?: string };
        elements?: Array<{ text?: string }>;
      }>) {
        const texts = [block.text?.text, ...(block.elements ?? []).map((e) => e.text)];
        if (texts.some((t) => typeof t === 'string' && t.length > 3000)) return 'invalid_blocks';
      }
      args.blocks = blocks;
    }
    return undefined;
  }

  private async receiveUpload(
    id: string,
    req: IncomingMessage,
    raw: Buffer,
    res: ServerResponse,
  ): Promise<void> {
    const upload = this.uploads.get(id);
    if (!upload) {
      res.writeHead(404).end();
      return;
    }
    const type = req.headers['content-type'] ?? '';
    let bytes = raw;
    if (type.startsWith('multipart/form-data')) {
      const form = await new Response(raw, { headers: { 'content-type': type } }).formData();
      const part = [...form.values()].find((value) => typeof value !== 'string');
      bytes = part ? Buffer.from(await (part as Blob).arrayBuffer()) : Buffer.alloc(0);
    }
    upload.bytes = bytes;
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`OK - ${bytes.length}`);
  }

  /** A `url_private` download: the bytes with the bot token, a sign-in page without, or the file's fault. */
  private async serveFile(path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const id = /^\/files-pri\/[^/]+-(F[A-Z0-9]+)\//.exec(path)?.[1] ?? '';
    const file = this.hostedFiles.get(id);
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const download: FileDownload = { id, token, outcome: 'ok' };
    this.fileDownloads.push(download);
    const answer = (status: number, type: string, body: string | Buffer) => {
      download.outcome = status === 200 ? download.outcome : `HTTP ${status}`;
      if (res.destroyed) return;
      res.writeHead(status, { 'content-type': type, 'content-length': String(Buffer.byteLength(body)) });
      res.end(body);
    };
    if (!file) return answer(404, 'text/plain', 'file_not_found');
    if (token !== this.botToken) {
      download.outcome = 'sign-in page';
      return answer(200, 'text/html', '<!DOCTYPE html><html><body>Sign in to Slack</body></html>');
    }
    const { fault } = file;
    if (fault?.kind === 'status') return answer(fault.status, 'text/plain', 'error');
    if (fault?.kind === 'redirect') {
      download.outcome = 'redirected';
      res.writeHead(302, { location: fault.location }).end();
      return;
    }
    if (fault?.kind === 'unsized') {
      res.writeHead(200, { 'content-type': file.mimetype });
      // Written in pieces, as a stream of unknown length arrives; a client that stops reading ends it.
      for (let at = 0; at < file.bytes.length && !res.destroyed; at += 1 << 20) {
        if (!res.write(file.bytes.subarray(at, at + (1 << 20))))
          await new Promise((r) => {
            res.once('drain', r);
            res.once('close', r);
          });
      }
      res.end();
      return;
    }
    if (fault?.kind === 'stall') {
      download.outcome = 'stalled';
      await new Promise((resolve) => setTimeout(resolve, fault.ms));
    }
    answer(200, file.mimetype, file.bytes);
  }

  /** `response_url`: 5 uses within 30 minutes (docs: handling-user-interaction). */
  private receiveResponse(id: string, raw: Buffer, res: ServerResponse): void {
    const entry = this.responseUrls.get(id);
    if (!entry || entry.uses >= 5 || this.now() - entry.createdAt > 30 * 60_000) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('expired_url');
      return;
    }
    entry.uses++;
    this.responses.push({ id, body: JSON.parse(raw.toString('utf8')) as Record<string, unknown> });
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
  }

  /**
   * The messages of a thread (`threadTs`) or the top level of a channel, oldest first, as Slack returns them:
   * a message's metadata only to `include_all_metadata`, a shared file as a message with `files`.
   * @see https://docs.slack.dev/reference/methods/conversations.replies
   */
  private conversation(channel: string, threadTs: string | undefined, withMetadata: boolean) {
    const messages = this.messages
      .filter((m) => m.channel === channel && m.thread_ts === threadTs)
      .map((m) => ({ ts: m.ts, object: this.messageObject(m, withMetadata) }));
    const files = this.files
      .filter((f) => f.channel === channel && f.thread_ts === threadTs)
      .map((f) => ({
        ts: f.ts,
        object: {
          type: 'message',
          user: this.botUserId,
          ts: f.ts,
          text: '',
          files: [{ id: f.id, name: f.filename }],
        },
      }));
    return [...messages, ...files].sort((a, b) => Number(a.ts) - Number(b.ts)).map((m) => m.object);
  }

  private messageObject(message: SlackMessage, withMetadata: boolean) {
    return {
      type: 'message',
      user: this.botUserId,
      ts: message.ts,
      text: message.text,
      ...(message.blocks ? { blocks: message.blocks } : {}),
      ...(message.thread_ts ? { thread_ts: message.thread_ts } : {}),
      ...(withMetadata && message.metadata ? { metadata: message.metadata } : {}),
    };
  }

  private nextTs(at = Date.now()): string {
    this.tsCounter++;
    return `${Math.floor(at / 1000)}.${String(this.tsCounter).padStart(6, '0')}`;
  }
}

/** A stream call's chunks in order: its `markdown_text`, then its `chunks` (JSON text in a form body). */
function streamChunks(args: Record<string, unknown>): Array<Record<string, unknown>> {
  const chunks = typeof args.chunks === 'string' ? JSON.parse(args.chunks) : (args.chunks ?? []);
  return [
    ...(typeof args.markdown_text === 'string' ? [{ type: 'markdown_text', text: args.markdown_text }] : []),
    ...(chunks as Array<Record<string, unknown>>),
  ];
}

function streamText(chunks: ReadonlyArray<Record<string, unknown>>): string {
  return chunks
    .filter((c) => c.type === 'markdown_text')
    .map((c) => String(c.text))
    .join('');
}

/** Errors of a call's arguments against the owned Slack schema of its method (none for a method it lacks). */
function argumentErrors(method: string, args: Record<string, unknown>, formEncoded: boolean): string[] {
  const spec = slackSpec();
  const pointer = spec.requestBodyPointer(`/${method}`, 'post');
  const schema = spec.schemaAt(pointer);
  if (!schema) return [];
  return spec.errors(pointer, formEncoded ? decodeForm(args, schema, spec) : args);
}

/**
 * A form body carries every argument as text; Slack reads booleans, numbers and JSON (`blocks`, `files`) out of
 * it. Decode by the type the schema gives each argument, leaving what does not decode as text for the schema to
 * refuse.
 */
function decodeForm(
  args: Record<string, unknown>,
  schema: Record<string, unknown>,
  spec: OpenApiValidator,
): Record<string, unknown> {
  const properties = (schema.properties ?? {}) as Record<string, { $ref?: string; type?: unknown }>;
  const decoded: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(args)) {
    const declared = properties[name];
    const property = declared?.$ref ? spec.schemaAt(declared.$ref.slice(1)) : declared;
    decoded[name] = typeof value === 'string' ? decodeValue(value, property?.type) : value;
  }
  return decoded;
}

function decodeValue(text: string, type: unknown): unknown {
  if (type === 'boolean')
    return text === 'true' || text === '1' ? true : text === 'false' || text === '0' ? false : text;
  if ((type === 'integer' || type === 'number') && /^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (type === 'array' || type === 'object') {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

async function parseArgs(req: IncomingMessage, raw: Buffer): Promise<Record<string, unknown>> {
  const type = req.headers['content-type'] ?? '';
  if (type.startsWith('application/json'))
    return JSON.parse(raw.toString('utf8') || '{}') as Record<string, unknown>;
  if (type.startsWith('multipart/form-data')) {
    const form = await new Response(raw, { headers: { 'content-type': type } }).formData();
    return Object.fromEntries(
      [...form.entries()].map(([k, v]) => [k, typeof v === 'string' ? v : '[binary]']),
    );
  }
  return Object.fromEntries(new URLSearchParams(raw.toString('utf8')));
}

/** Posts an Events API request to the app at `url`, signed with `secret` as Slack signs it; returns the status. */
export async function deliverEvent(url: string, secret: string, envelope: EventEnvelope): Promise<number> {
  const body = JSON.stringify(envelope);
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      ...signSlackRequest(secret, body, Math.floor(Date.now() / 1000)),
      'content-type': 'application/json',
    },
    body,
  });
  await response.text();
  return response.status;
}

/** An object argument: as sent in a JSON body, or as JSON text in a form. */
function jsonArg(value: unknown): unknown {
  return typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
}

/** A boolean argument: `true` in a JSON body, `true` or `1` in a form. */
/**
 * One page of a list Slack pages by cursor: `limit` (or `defaultLimit`) items from the `cursor`'s offset, and the
 * cursor of the next page (empty on the last).
 * @see https://docs.slack.dev/apis/web-api/pagination
 */
function page(all: unknown[], args: Record<string, unknown>, defaultLimit: number) {
  const from = args.cursor === undefined ? 0 : Number(Buffer.from(String(args.cursor), 'base64').toString());
  if (!Number.isInteger(from) || from < 0 || from > all.length) return { ok: false, error: 'invalid_cursor' };
  const limit = args.limit === undefined ? defaultLimit : Number(args.limit);
  const more = from + limit < all.length;
  const next = more ? Buffer.from(String(from + limit)).toString('base64') : '';
  return {
    ok: true,
    messages: all.slice(from, from + limit),
    has_more: more,
    response_metadata: { next_cursor: next },
  };
}

function isTrue(value: unknown): boolean {
  return value === true || value === 'true' || value === '1';
}

/** Signs a request body the way Slack does: `v0=` + HMAC-SHA256 of `v0:{timestamp}:{body}`. */
export function signSlackRequest(secret: string, body: string, timestamp: number): Record<string, string> {
  const signature = `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  return {
    'content-type': 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': signature,
  };
}
