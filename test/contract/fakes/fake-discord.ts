import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import { readBody } from './http-body.js';
import { discordSpec } from './openapi-validator.js';

const DISCORD_EPOCH = 1_420_070_400_000n;
const TOKEN_LIFETIME_MS = 15 * 60_000;
/** How long Discord remembers an enforced nonce ("the past few minutes"). */
const NONCE_WINDOW_MS = 3 * 60_000;
const FILE_LIMIT = 10 * 1024 * 1024;
const REQUEST_LIMIT = 25 * 1024 * 1024;
/** Titles, descriptions, field names and values, footers and author names across a message's embeds. */
const EMBEDS_TOTAL_LIMIT = 6000;

/** A file a user attaches to a message sent with `FakeDiscord.sendMessage`. */
export interface SentAttachment {
  filename: string;
  size: number;
  contentType?: string;
  width?: number;
  height?: number;
  /** The CDN link; by default one made from the channel, message and file name. */
  url?: string;
}

export interface DiscordCall {
  method: string;
  /** The route with ids, e.g. `/channels/123/messages`. */
  path: string;
  /** The query string, if any (e.g. `?limit=50`). */
  query?: string;
  /** The OpenAPI path template it matched. */
  template: string | undefined;
  auth: string | undefined;
  body: Record<string, unknown> | unknown[] | undefined;
  /** Uploaded files with the content type of their multipart part. */
  files: Array<{ name: string; type: string; bytes: Buffer }>;
  schemaErrors: string[];
  /** What the fake answered: an HTTP status. */
  status: number;
  at: number;
}

export interface FakeMessage {
  id: string;
  channel_id: string;
  content: string;
  author_id: string;
  /** Its files, each with the id Discord gave it (an edit keeps or drops them by id). */
  attachments: FakeAttachment[];
  /** Its rich embeds, as last sent. */
  embeds: FakeEmbed[];
  allowed_mentions: unknown;
  /** Every content this message had (edits append). */
  history: string[];
  /** How it was sent: `bot` (bot token) or `webhook` (interaction token). */
  via: 'bot' | 'webhook';
  /** Its buttons (message components), as last sent. */
  components: unknown[];
  /** Message flags (64: ephemeral). */
  flags: number;
  interaction_id?: string;
  /** The message this one replies to (Create Message's `message_reference`). */
  reply_to?: string;
}

export interface FakeAttachment {
  id: string;
  filename: string;
  bytes: Buffer;
}

/** An embed, as far as lorabot sends one. */
export interface FakeEmbed {
  title?: string;
  description?: string;
  footer?: { text?: string };
  author?: { name?: string };
  fields?: Array<{ name?: string; value?: string }>;
}

export type DiscordFault =
  | { kind: 'rate-limited'; retryAfterSeconds: number }
  | { kind: 'http'; status: number }
  /**
   * A message with the IS_COMPONENTS_V2 flag refused as Discord refuses it where V2 is not accepted: its
   * top-level components read as legacy ones, only action rows (type 1). Calls without the flag pass.
   */
  | { kind: 'refuse-v2' }
  /** The bot lacks a permission in the channel (Send Messages, Attach Files…): 403, code 50013. */
  | { kind: 'missing-permissions' }
  /** The person takes no DMs from the bot (a Create Message in a DM): 403, code 50007. */
  | { kind: 'cannot-dm' };

/**
 * Where a user-install interaction comes from: a DM between people (context 2) or the bot's DM (1), or a server the
 * bot has not joined (0, `otherGuildId`). The app is authorized by the user alone (`authorizing_integration_owners`
 * has only key "1").
 * @see https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object-interaction-context-types
 */
export interface UserInstallOrigin {
  context: 0 | 1 | 2;
}

interface InteractionState {
  id: string;
  token: string;
  channelId: string;
  /** Who interacted. */
  userId: string;
  createdAt: number;
  /** The token stops working 15 minutes after the interaction was made (its id's timestamp). */
  expiresAt: number;
  responded: boolean;
  deferredAfterMs?: number;
  originalId?: string;
  /**
   * Deferred (type 5) and not yet edited: Discord makes the first follow-up edit this "thinking" response, keeping
   * the privacy it was deferred with.
   */
  thinking?: boolean;
  /** Component interactions: the message whose button was pressed. */
  messageId?: string;
}

/** Discord's EPHEMERAL message flag (1 << 6). */
const EPHEMERAL_FLAG = 64;
/** IS_COMPONENTS_V2 (1 << 15): the message is made of components only. */
export const COMPONENTS_V2_FLAG = 1 << 15;
/** Component types that may stand at a V2 message's top level (action row, section, text, thumbnail… container). */
const V2_TOP_LEVEL = new Set([1, 9, 10, 12, 13, 14, 17]);

/** The time a snowflake was made (ms since the epoch). */
export function snowflakeTime(id: string): number {
  return Number((BigInt(id) >> 22n) + DISCORD_EPOCH);
}

/** Real-looking snowflakes: discord.js's REST queue keys buckets on 17–19-digit ids. */
export function snowflake(at = Date.now()): string {
  snowflakeCounter = (snowflakeCounter + 1) % 4096;
  return String(((BigInt(at) - DISCORD_EPOCH) << 22n) | BigInt(snowflakeCounter));
}
let snowflakeCounter = 0;

/**
 * A local Discord for discord.js: REST under `/api/v10` (reached through DISCORD_API_URL) and a small gateway
 * (hello, identify → ready, guild create, heartbeats, dispatch). Request bodies are checked against Discord's
 * OpenAPI description and its documented limits; calls are recorded; faults are injected on demand.
 */
export class FakeDiscord {
  readonly token: string;
  readonly applicationId = snowflake();
  readonly botId = snowflake();
  readonly guildId = snowflake();
  readonly channelId = snowflake();
  readonly dmChannelId = snowflake();
  /** A DM between two people: the bot is not in it and cannot post there; a user install can answer in it. */
  readonly privateChannelId = snowflake();
  /** A server the bot has not joined (a user install used there). */
  readonly otherGuildId = snowflake();
  readonly otherChannelId = snowflake();
  readonly calls: DiscordCall[] = [];
  readonly messages: FakeMessage[] = [];
  /** The test guild's channels besides `channelId`: those its members used (commands, messages). */
  private readonly guildChannels = new Set<string>();
  /** Messages people sent (`sendMessage`), by id: their channel, for replies to them. */
  private readonly sentByPeople = new Map<string, string>();
  /** Enforced nonces of created messages, by channel: the message and when. */
  private readonly nonces = new Map<string, { id: string; at: number }>();
  readonly threads: Array<{ id: string; parentId: string; name: string }> = [];
  /** Modals shown to people (interaction response type 9), by the interaction they answered. */
  readonly modals: Array<{ interactionId: string; userId: string; data: Record<string, unknown> }> = [];
  /** Added to the real clock: moves interaction tokens towards expiry. */
  clockOffsetMs = 0;
  baseUrl = '';
  private readonly interactions = new Map<string, InteractionState>();
  /** DM channels the bot opened, and with whom. */
  readonly dmRecipients = new Map<string, string>();
  /** How many times a client identified on the gateway (each new session once). */
  identifies = 0;
  private readonly faults: Array<{ pattern: RegExp; fault: DiscordFault }> = [];
  private server?: Server;
  private wss?: WebSocketServer;
  private readonly sockets = new Set<Socket>();
  private gateway?: WebSocket;
  private sequence = 0;
  private readyResolve?: () => void;
  readonly ready: Promise<void>;

  constructor(options: { token?: string } = {}) {
    this.token = options.token ?? 'fake-discord-bot-token';
    this.ready = new Promise((resolve) => {
      this.readyResolve = resolve;
    });
  }

  get apiUrl(): string {
    return `${this.baseUrl}/api`;
  }

  now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: String(error), code: 0 }));
      });
    });
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.wss = new WebSocketServer({ server: this.server, path: '/gateway' });
    this.wss.on('connection', (ws) => this.onGatewayConnection(ws));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const client of this.wss?.clients ?? []) client.terminate();
    this.wss?.close();
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server?.close(() => resolve(undefined)));
  }

  /** Faults for the next calls whose `METHOD /path` matches. */
  inject(pattern: RegExp, fault: DiscordFault, times = 1): void {
    for (let i = 0; i < times; i++) this.faults.push({ pattern, fault });
  }

  /** Sends a user's message over the gateway; `mention` adds the bot to its mentions. */
  sendMessage(options: {
    content: string;
    userId?: string;
    mention?: boolean;
    channelId?: string;
    dm?: boolean;
    /** A reply to this message (with the default ping of its author, so the bot is mentioned). */
    replyTo?: string;
    /** Files attached to the message, as Discord's attachment objects describe them (the bytes are not served). */
    attachments?: SentAttachment[];
    /** The message's id: a message delivered again (Discord redelivers an event after a gateway resume). */
    id?: string;
  }): string {
    const id = options.id ?? snowflake(this.now());
    const author = this.user(options.userId ?? '111111111111111111');
    const channelId = options.dm ? this.dmChannelId : (options.channelId ?? this.channelId);
    this.sentByPeople.set(id, channelId);
    if (!options.dm) this.guildChannels.add(channelId);
    // @see https://discord.com/developers/docs/resources/message#attachment-object
    const attachments = (options.attachments ?? []).map((file, i) => {
      const url =
        file.url ?? `https://cdn.discordapp.com/attachments/${channelId}/${id}${i}/${file.filename}`;
      return {
        id: `${id}${i}`,
        filename: file.filename,
        size: file.size,
        url,
        proxy_url: url.replace('cdn.discordapp.com', 'media.discordapp.net'),
        ...(file.contentType ? { content_type: file.contentType } : {}),
        ...(file.width ? { width: file.width, height: file.height } : {}),
      };
    });
    this.dispatch('MESSAGE_CREATE', {
      id,
      channel_id: channelId,
      // Discord names the channel type on MESSAGE_CREATE; discord.js needs it to build an uncached DM channel.
      channel_type: options.dm ? 1 : 0,
      ...(options.dm ? {} : { guild_id: this.guildId, member: this.member(author) }),
      author,
      content: options.content,
      timestamp: new Date(this.now()).toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: options.mention ? [this.user(this.botId, 'lorabot', true)] : [],
      mention_roles: [],
      attachments,
      embeds: [],
      pinned: false,
      type: options.replyTo ? 19 : 0,
      flags: 0,
      ...(options.replyTo
        ? {
            message_reference: { message_id: options.replyTo, channel_id: channelId, guild_id: this.guildId },
          }
        : {}),
    });
    return id;
  }

  /**
   * A user presses a button (`custom_id`) on one of the bot's messages; `userInstall`: where the bot is no member
   * (the message is one of a user install's).
   */
  pressButton(options: {
    messageId: string;
    customId: string;
    userId?: string;
    userInstall?: UserInstallOrigin;
  }): {
    id: string;
    token: string;
  } {
    const message = this.messages.find((m) => m.id === options.messageId);
    if (!message) throw new Error(`no message ${options.messageId}`);
    return this.sendInteraction({
      type: 3,
      data: { custom_id: options.customId, component_type: 2 },
      message: this.messageObject(message),
      channelId: message.channel_id,
      ...(options.userId ? { userId: options.userId } : {}),
      ...(options.userInstall ? { userInstall: options.userInstall } : {}),
    });
  }

  /**
   * A user picks a message command (type 3, e.g. "Edit with lorabot") on someone's message carrying these
   * attachments; Discord sends the message in `resolved.messages`, whatever the bot's intents.
   * @see https://discord.com/developers/docs/interactions/application-commands#message-commands
   */
  sendMessageCommand(options: {
    name: string;
    userId: string;
    channelId?: string;
    attachments: Array<{ filename: string; contentType?: string; url: string; size?: number }>;
  }): { id: string; token: string } {
    const channelId = options.channelId ?? this.channelId;
    const target = snowflake(this.now());
    const author = this.user('222222222222222222', 'someone');
    const message = {
      id: target,
      channel_id: channelId,
      guild_id: this.guildId,
      author,
      content: 'look at this',
      timestamp: new Date(this.now()).toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: options.attachments.map((a) => ({
        id: snowflake(),
        filename: a.filename,
        size: a.size ?? 1000,
        url: a.url,
        proxy_url: a.url,
        ...(a.contentType ? { content_type: a.contentType } : {}),
      })),
      embeds: [],
      pinned: false,
      type: 0,
      flags: 0,
      components: [],
    };
    return this.sendInteraction({
      type: 2,
      data: {
        id: snowflake(),
        name: options.name,
        type: 3,
        target_id: target,
        resolved: { messages: { [target]: message } },
      },
      userId: options.userId,
      channelId,
    });
  }

  /** A user submits a modal the bot showed, with `values` by text input custom_id (MODAL_SUBMIT, type 5). */
  submitModal(options: {
    customId: string;
    userId: string;
    channelId?: string;
    values: Record<string, string>;
  }): { id: string; token: string } {
    return this.sendInteraction({
      type: 5,
      data: {
        custom_id: options.customId,
        components: Object.entries(options.values).map(([customId, value]) => ({
          type: 1,
          components: [{ type: 4, custom_id: customId, value }],
        })),
      },
      userId: options.userId,
      ...(options.channelId ? { channelId: options.channelId } : {}),
    });
  }

  /** A message the bot posted earlier (say, before its channel left the allowlist), with these buttons. */
  botMessage(options: { channelId: string; content: string; components: unknown[] }): FakeMessage {
    const body = { content: options.content, components: options.components };
    return this.createMessage(options.channelId, body, [], 'bot');
  }

  /** The custom_ids of a message's buttons, in action rows at the top level or inside a V2 container. */
  buttonsOf(messageId: string): string[] {
    const message = this.messages.find((m) => m.id === messageId);
    const rows = actionRowsOf(message?.components ?? []);
    return rows.flatMap((row) => (row.components ?? []).map((c) => String(c.custom_id)));
  }

  /** Sends a chat-input interaction (`/flux`, `/ask`) over the gateway; returns its id. */
  sendCommand(options: {
    name: string;
    options: Array<{ name: string; type: number; value: string | number }>;
    userId?: string;
    attachmentSizeLimit?: number;
    id?: string;
    token?: string;
    channelId?: string;
    /** Sent through a person's own install where the bot is not a member. */
    userInstall?: UserInstallOrigin;
    /**
     * When Discord made the interaction (its id's timestamp), by default now: an earlier time leaves its token
     * less of its 15 minutes. The 3-second deadline to answer still runs from when it is sent.
     */
    issuedAt?: number;
  }): { id: string; token: string } {
    return this.sendInteraction({
      type: 2,
      data: { id: snowflake(), name: options.name, type: 1, options: options.options },
      attachment_size_limit: options.attachmentSizeLimit ?? FILE_LIMIT,
      ...(options.userId ? { userId: options.userId } : {}),
      ...(options.id ? { id: options.id } : {}),
      ...(options.token ? { token: options.token } : {}),
      ...(options.channelId ? { channelId: options.channelId } : {}),
      ...(options.userInstall ? { userInstall: options.userInstall } : {}),
      ...(options.issuedAt !== undefined ? { issuedAt: options.issuedAt } : {}),
    });
  }

  /**
   * Dispatches INTERACTION_CREATE with exactly this payload (say, a vendor's documented example), remembering its
   * id and token so that an answer to it would be recorded.
   */
  sendRawInteraction(
    payload: { id: string; token: string; channel_id: string } & Record<string, unknown>,
  ): void {
    const { id, token, channel_id: channelId } = payload;
    const member = payload.member as { user?: { id?: string } } | undefined;
    const userId = member?.user?.id ?? (payload.user as { id?: string } | undefined)?.id ?? '';
    const createdAt = this.now();
    this.interactions.set(id, {
      id,
      token,
      channelId,
      userId,
      createdAt,
      expiresAt: createdAt + TOKEN_LIFETIME_MS,
      responded: false,
    });
    this.dispatch('INTERACTION_CREATE', payload);
  }

  /** The first message answering an interaction that everyone in the channel can see (its status). */
  publicReply(interactionId: string): FakeMessage | undefined {
    return this.messages.find((m) => m.interaction_id === interactionId && (m.flags & EPHEMERAL_FLAG) === 0);
  }

  /**
   * What answered an interaction in public and private: its response and follow-ups, and the bot's replies to them
   * (results posted with the bot token reply to the command's status).
   */
  answersTo(interactionId: string): FakeMessage[] {
    const own = new Set(this.messages.filter((m) => m.interaction_id === interactionId).map((m) => m.id));
    return this.messages.filter((m) => own.has(m.id) || (m.reply_to !== undefined && own.has(m.reply_to)));
  }

  /** Sends an autocomplete interaction for one focused option; returns its id. */
  sendAutocomplete(options: { name: string; option: string; typed: string; channelId?: string }): string {
    return this.sendInteraction({
      type: 4,
      data: {
        id: snowflake(),
        name: options.name,
        type: 1,
        options: [{ name: options.option, type: 3, value: options.typed, focused: true }],
      },
      ...(options.channelId ? { channelId: options.channelId } : {}),
    }).id;
  }

  /** Dispatches INTERACTION_CREATE from a member of the test guild, and remembers its token for the REST side. */
  private sendInteraction(options: {
    type: number;
    data: Record<string, unknown>;
    attachment_size_limit?: number;
    userId?: string;
    id?: string;
    token?: string;
    message?: unknown;
    channelId?: string;
    userInstall?: UserInstallOrigin;
    issuedAt?: number;
  }): { id: string; token: string } {
    const id = options.id ?? snowflake(options.issuedAt ?? this.now());
    const token = options.token ?? `interaction-token-${randomUUID()}`;
    const origin = options.userInstall;
    const channelId = options.channelId ?? (origin ? this.userInstallChannel(origin) : this.channelId);
    const userId = options.userId ?? '111111111111111111';
    if (!origin) this.guildChannels.add(channelId);
    if (!this.interactions.has(id)) {
      this.interactions.set(id, {
        id,
        token,
        channelId,
        userId,
        createdAt: this.now(),
        expiresAt: snowflakeTime(id) + TOKEN_LIFETIME_MS,
        responded: false,
        ...(options.message ? { messageId: (options.message as { id: string }).id } : {}),
      });
    }
    const user = this.user(userId);
    this.dispatch('INTERACTION_CREATE', {
      id,
      application_id: this.applicationId,
      type: options.type,
      token,
      version: 1,
      ...(origin ? this.userInstallWhere(origin, user, channelId) : this.guildWhere(user, channelId)),
      data: options.data,
      ...(options.message ? { message: options.message } : {}),
      locale: 'en-US',
      entitlements: [],
      ...(options.attachment_size_limit ? { attachment_size_limit: options.attachment_size_limit } : {}),
    });
    return { id, token };
  }

  /** A member of the test guild, where the bot is installed. */
  private guildWhere(user: Record<string, unknown>, channelId: string) {
    return {
      guild_id: this.guildId,
      channel_id: channelId,
      channel: this.channelObject(channelId),
      member: { ...this.member(user), permissions: '2248473465835073' },
      app_permissions: '2248473465835073',
      guild_locale: 'en-US',
      authorizing_integration_owners: { '0': this.guildId },
      context: 0,
    };
  }

  private userInstallChannel(origin: UserInstallOrigin): string {
    return origin.context === 0
      ? this.otherChannelId
      : origin.context === 1
        ? this.dmChannelId
        : this.privateChannelId;
  }

  /**
   * A user install: authorized by the user alone. In a DM there is no guild or member, only `user`; in a server the
   * bot has not joined, a member of that server. The bot's permissions there are those of a user-install app.
   * @see https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object-interaction-structure
   */
  private userInstallWhere(origin: UserInstallOrigin, user: Record<string, unknown>, channelId: string) {
    const common = {
      channel_id: channelId,
      app_permissions: '250048',
      authorizing_integration_owners: { '1': String(user.id) },
      context: origin.context,
    };
    if (origin.context === 0) {
      return {
        ...common,
        guild_id: this.otherGuildId,
        guild_locale: 'en-US',
        channel: { id: channelId, type: 0, guild_id: this.otherGuildId, name: 'elsewhere' },
        member: { ...this.member(user), permissions: '2248473465835073' },
      };
    }
    const recipients = origin.context === 2 ? [this.user('222222222222222222', 'friend')] : [];
    return { ...common, user, channel: { id: channelId, type: 1, recipients, flags: 0 } };
  }

  /** A member opens a thread in a channel (the test channel by default); returns the thread's id. */
  openThread(options: { name?: string; parentId?: string; userId?: string } = {}): string {
    const thread = {
      id: snowflake(this.now()),
      parentId: options.parentId ?? this.channelId,
      name: options.name ?? 'a thread',
    };
    this.addThread(thread, options.userId ?? '111111111111111111', 1440);
    return thread.id;
  }

  /** Records a thread and tells the gateway (THREAD_CREATE), as Discord does; discord.js caches it from that. */
  private addThread(
    thread: { id: string; parentId: string; name: string },
    ownerId: string,
    autoArchive: number,
  ) {
    this.threads.push(thread);
    const threadObject = {
      id: thread.id,
      type: 11,
      guild_id: this.guildId,
      parent_id: thread.parentId,
      name: thread.name,
      owner_id: ownerId,
      message_count: 0,
      member_count: 1,
      thread_metadata: {
        archived: false,
        auto_archive_duration: autoArchive,
        archive_timestamp: new Date(this.now()).toISOString(),
        locked: false,
      },
      flags: 0,
      rate_limit_per_user: 0,
    };
    this.dispatch('THREAD_CREATE', { ...threadObject, newly_created: true });
    return threadObject;
  }

  private channelObject(channelId: string) {
    const thread = this.threads.find((t) => t.id === channelId);
    return thread
      ? { id: thread.id, type: 11, guild_id: this.guildId, name: thread.name, parent_id: thread.parentId }
      : { id: channelId, type: 0, guild_id: this.guildId, name: 'general' };
  }

  interaction(id: string): InteractionState | undefined {
    return this.interactions.get(id);
  }

  messagesIn(channelId: string): FakeMessage[] {
    return this.messages.filter((m) => m.channel_id === channelId);
  }

  private user(id: string, username = `user${id.slice(-4)}`, bot = false) {
    return { id, username, discriminator: '0', avatar: null, global_name: username, bot, flags: 0 };
  }

  private member(user: Record<string, unknown>) {
    return {
      user,
      roles: [],
      joined_at: new Date(0).toISOString(),
      deaf: false,
      mute: false,
      flags: 0,
      nick: null,
    };
  }

  // ---- gateway ----

  /** Closes the bot's gateway connection with this close code (4004: authentication failed, not resumable). */
  closeGateway(code: number, reason = 'closed by the fake'): void {
    this.gateway?.close(code, reason);
  }

  private onGatewayConnection(ws: WebSocket): void {
    this.gateway = ws;
    ws.send(JSON.stringify({ op: 10, d: { heartbeat_interval: 41_250 }, s: null, t: null }));
    ws.on('message', (raw) => {
      const packet = JSON.parse(String(raw)) as { op: number; d: Record<string, unknown> };
      if (packet.op === 1) ws.send(JSON.stringify({ op: 11, d: null, s: null, t: null }));
      if (packet.op === 2) {
        this.identifies++;
        this.identify(ws, packet.d);
      }
    });
  }

  private identify(ws: WebSocket, identify: Record<string, unknown>): void {
    if (identify.token !== this.token && identify.token !== `Bot ${this.token}`) {
      ws.close(4004, 'Authentication failed.');
      return;
    }
    this.dispatch('READY', {
      v: 10,
      user: this.user(this.botId, 'lorabot', true),
      guilds: [{ id: this.guildId, unavailable: true }],
      session_id: randomUUID(),
      resume_gateway_url: this.baseUrl.replace('http', 'ws'),
      application: { id: this.applicationId, flags: 0 },
      shard: [0, 1],
    });
    this.dispatch('GUILD_CREATE', {
      id: this.guildId,
      name: 'lorabot test',
      icon: null,
      owner_id: '111111111111111111',
      roles: [
        {
          id: this.guildId,
          name: '@everyone',
          permissions: '2248473465835073',
          position: 0,
          color: 0,
          hoist: false,
          managed: false,
          mentionable: false,
          flags: 0,
        },
      ],
      emojis: [],
      stickers: [],
      features: [],
      member_count: 2,
      members: [this.member(this.user(this.botId, 'lorabot', true))],
      channels: [
        {
          id: this.channelId,
          type: 0,
          name: 'general',
          position: 0,
          permission_overwrites: [],
          guild_id: this.guildId,
        },
      ],
      threads: [],
      presences: [],
      voice_states: [],
      joined_at: new Date(0).toISOString(),
      large: false,
      unavailable: false,
      premium_tier: 0,
      verification_level: 0,
      default_message_notifications: 0,
      explicit_content_filter: 0,
      mfa_level: 0,
      nsfw_level: 0,
      system_channel_flags: 0,
      preferred_locale: 'en-US',
    });
    this.readyResolve?.();
  }

  private dispatch(t: string, d: unknown): void {
    this.sequence++;
    this.gateway?.send(JSON.stringify({ op: 0, t, s: this.sequence, d }));
  }

  // ---- REST ----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
    const url = new URL(req.url ?? '/', this.baseUrl);
    const path = decodeURIComponent(url.pathname.replace(/^\/api\/v10/, ''));
    const raw = await readBody(req);
    const { body, files } = await parseBody(req, raw);
    const template = templateOf(path);
    const call: DiscordCall = {
      method: req.method ?? 'GET',
      path,
      query: url.search,
      template,
      auth: req.headers.authorization,
      body,
      files,
      schemaErrors: [],
      status: 200,
      at: this.now(),
    };
    this.calls.push(call);
    const send = (status: number, payload?: unknown, headers: Record<string, string> = {}): true => {
      call.status = status;
      // A 204 has no body, and so no content type (discord.js parses any application/json body).
      res.writeHead(status, status === 204 ? headers : { 'content-type': 'application/json', ...headers });
      res.end(payload === undefined ? '' : JSON.stringify(payload));
      return true;
    };
    const index = this.faults.findIndex(
      (f) =>
        f.pattern.test(`${call.method} ${path}`) &&
        (f.fault.kind !== 'refuse-v2' || (flagsOf(body) & COMPONENTS_V2_FLAG) !== 0),
    );
    if (index !== -1) {
      const { fault } = this.faults.splice(index, 1)[0]!;
      if (fault.kind === 'refuse-v2') {
        // Where V2 is not accepted, a container at the top level reads as a legacy component.
        return send(400, {
          message: 'Invalid Form Body',
          code: 50035,
          errors: {
            components: {
              '0': {
                _errors: [
                  { code: 'UNION_TYPE_CHOICES', message: 'Value of field "type" must be one of (1,).' },
                ],
              },
            },
          },
        });
      }
      if (fault.kind === 'missing-permissions')
        return send(403, { message: 'Missing Permissions', code: 50013 });
      if (fault.kind === 'cannot-dm')
        return send(403, { message: 'Cannot send messages to this user', code: 50007 });
      if (fault.kind === 'rate-limited') {
        return send(
          429,
          { message: 'You are being rate limited.', retry_after: fault.retryAfterSeconds, global: false },
          {
            'retry-after': String(Math.ceil(fault.retryAfterSeconds)),
            'x-ratelimit-limit': '5',
            'x-ratelimit-remaining': '0',
            'x-ratelimit-reset-after': String(fault.retryAfterSeconds),
            'x-ratelimit-bucket': 'fake-bucket',
            'x-ratelimit-scope': 'user',
          },
        );
      }
      return send(fault.status, { message: 'Internal Server Error', code: 0 });
    }
    if (template && body !== undefined && ['POST', 'PATCH', 'PUT'].includes(call.method)) {
      const spec = discordSpec();
      call.schemaErrors = spec.errors(spec.requestBodyPointer(template, call.method.toLowerCase()), body);
    }
    const limit = this.limitProblem(body, files);
    if (call.schemaErrors.length > 0 || limit) {
      return send(400, { message: 'Invalid Form Body', code: 50035, errors: limit ?? call.schemaErrors });
    }
    const usesWebhook = path.startsWith('/webhooks/') || path.startsWith('/interactions/');
    if (!usesWebhook && call.auth !== `Bot ${this.token}`)
      return send(401, { message: '401: Unauthorized', code: 0 });
    return this.route(call, send);
  }

  /** Discord's documented limits that its OpenAPI description leaves out or states differently. */
  private limitProblem(body: DiscordCall['body'], files: DiscordCall['files']): string | undefined {
    if (body && !Array.isArray(body)) {
      if (typeof body.content === 'string' && body.content.length > 2000)
        return 'content: must be 2000 or fewer in length';
      const mentions = body.allowed_mentions as
        | { parse?: string[]; users?: unknown[]; roles?: unknown[] }
        | undefined;
      if (mentions?.parse?.includes('users') && mentions.users)
        return 'allowed_mentions: parse users and users are exclusive';
      if (mentions?.parse?.includes('roles') && mentions.roles)
        return 'allowed_mentions: parse roles and roles are exclusive';
    }
    const v2 = v2Problem(body, files);
    if (v2) return v2;
    const embeds = embedsProblem(body);
    if (embeds) return embeds;
    if (files.some((f) => f.bytes.length > FILE_LIMIT)) return 'file too large (10 MiB per file)';
    if (files.reduce((sum, f) => sum + f.bytes.length, 0) > REQUEST_LIMIT)
      return 'request entity too large (25 MiB)';
    return undefined;
  }

  private route(call: DiscordCall, send: (status: number, payload?: unknown) => true): true {
    const { method, path } = call;
    const body = (call.body ?? {}) as Record<string, unknown>;
    let m: RegExpExecArray | null;
    if (method === 'GET' && path === '/gateway/bot') {
      return send(200, {
        url: `${this.baseUrl.replace('http', 'ws')}/gateway`,
        shards: 1,
        session_start_limit: { total: 1000, remaining: 999, reset_after: 14_400_000, max_concurrency: 1 },
      });
    }
    if (method === 'GET' && path === '/users/@me') return send(200, this.user(this.botId, 'lorabot', true));
    if (method === 'POST' && path === '/users/@me/channels') {
      const recipient = String(body.recipient_id ?? '');
      if (!/^\d{17,19}$/.test(recipient)) return send(400, { message: 'Invalid Form Body', code: 50035 });
      this.dmRecipients.set(this.dmChannelId, recipient);
      return send(200, {
        id: this.dmChannelId,
        type: 1,
        last_message_id: null,
        flags: 0,
        recipients: [this.user(recipient)],
      });
    }
    m = /^\/interactions\/(\d+)\/([^/]+)\/callback$/.exec(path);
    if (m && method === 'POST') {
      const interaction = this.interactions.get(m[1]!);
      if (!interaction || interaction.token !== m[2])
        return send(404, { message: 'Unknown interaction', code: 10062 });
      if (interaction.responded)
        return send(400, { message: 'Interaction has already been acknowledged.', code: 40060 });
      // Measured when the request arrived: the fake's own checks (its first schema compile) take time too.
      const age = call.at - interaction.createdAt;
      if (age > 3000) return send(404, { message: 'Unknown interaction', code: 10062 });
      interaction.responded = true;
      interaction.deferredAfterMs = age;
      if (body.type === 7) {
        // UPDATE_MESSAGE: edits the message the pressed button is on.
        const target = this.messages.find((x) => x.id === interaction.messageId);
        if (target) this.editMessage(target, (body.data ?? {}) as Record<string, unknown>, call.files);
        interaction.originalId = interaction.messageId;
        return send(204);
      }
      if (body.type === 9) {
        // MODAL: shown to the person who interacted; no message is made.
        this.modals.push({
          interactionId: interaction.id,
          userId: interaction.userId,
          data: (body.data ?? {}) as Record<string, unknown>,
        });
        return send(204);
      }
      interaction.thinking = body.type === 5;
      // Autocomplete answers (type 8) carry choices, not a message.
      if (body.type !== 8) {
        const message = this.createMessage(
          interaction.channelId,
          body,
          call.files,
          'webhook',
          interaction.id,
        );
        interaction.originalId = message.id;
      }
      return send(204);
    }
    m = /^\/webhooks\/(\d+)\/([^/]+)(?:\/messages\/(@original|\d+))?$/.exec(path);
    if (m) {
      const interaction = [...this.interactions.values()].find((i) => i.token === m![2]);
      if (!interaction || this.now() > interaction.expiresAt) {
        return send(404, { message: 'Unknown Webhook', code: 10015 });
      }
      const id = m[3] === '@original' ? interaction.originalId : m[3];
      if (method === 'PATCH' || method === 'DELETE') {
        // An interaction's webhook reaches its own messages (and, after a button's update, the pressed message).
        const message = this.messages.find(
          (x) => x.id === id && (x.interaction_id === interaction.id || x.id === interaction.originalId),
        );
        if (!message) return send(404, { message: 'Unknown Message', code: 10008 });
        if (message.id === interaction.originalId) interaction.thinking = false;
        if (method === 'DELETE') {
          this.messages.splice(this.messages.indexOf(message), 1);
          return send(204);
        }
        return send(200, this.editMessage(message, body, call.files));
      }
      if (method === 'POST' && interaction.thinking) {
        // The first follow-up after a deferral replaces the "thinking" response; its own flags are ignored.
        interaction.thinking = false;
        const original = this.messages.find((x) => x.id === interaction.originalId)!;
        return send(200, this.editMessage(original, body, call.files));
      }
      if (method === 'POST') {
        const message = this.createMessage(
          interaction.channelId,
          body,
          call.files,
          'webhook',
          interaction.id,
        );
        return send(200, this.messageObject(message));
      }
    }
    m = /^\/channels\/(\d+)\/messages(?:\/\d+)?$/.exec(path);
    if (m && (m[1] === this.privateChannelId || m[1] === this.otherChannelId)) {
      // The bot is not in a DM between people, nor in a server it has not joined.
      return send(403, { message: 'Missing Access', code: 50001 });
    }
    m = /^\/channels\/(\d+)\/messages$/.exec(path);
    if (m && method === 'GET') {
      // List Messages: newest first, `limit` of them (default 50); ephemeral messages are nobody's to list.
      const limit = Number(new URLSearchParams(call.query).get('limit') ?? 50);
      const listed = this.messagesIn(m[1]!).filter((x) => (x.flags & EPHEMERAL_FLAG) === 0);
      return send(
        200,
        listed
          .reverse()
          .slice(0, limit)
          .map((x) => this.messageObject(x)),
      );
    }
    if (m && method === 'POST') {
      if (!this.knownChannel(m[1]!)) {
        return send(404, { message: 'Unknown Channel', code: 10003 });
      }
      const repeated = this.repeatedNonce(m[1]!, body);
      if (repeated) return send(200, this.messageObject(repeated));
      const reference = this.referenced(m[1]!, body);
      if (reference === false)
        return send(400, {
          message: 'Invalid Form Body',
          code: 50035,
          errors: 'message_reference: Unknown message',
        });
      const created = this.createMessage(m[1]!, body, call.files, 'bot');
      if (reference) created.reply_to = reference;
      if (body.enforce_nonce === true && body.nonce !== undefined) {
        this.nonces.set(`${m[1]} ${String(body.nonce)}`, { id: created.id, at: this.now() });
      }
      return send(200, this.messageObject(created));
    }
    m = /^\/channels\/(\d+)\/messages\/(\d+)$/.exec(path);
    if (m && method === 'PATCH') {
      const message = this.messages.find((x) => x.id === m![2] && x.channel_id === m![1]);
      if (!message) return send(404, { message: 'Unknown Message', code: 10008 });
      return send(200, this.editMessage(message, body, call.files));
    }
    m = /^\/channels\/(\d+)\/messages\/(\d+)\/threads$/.exec(path);
    if (m && method === 'POST') {
      // "A thread has already been created for this message" (a thread started from a message has its id).
      if (this.threads.some((t) => t.id === m![2])) {
        return send(400, { message: 'A thread has already been created for this message', code: 160004 });
      }
      const threadObject = this.addThread(
        { id: m[2]!, parentId: m[1]!, name: String(body.name ?? '') },
        this.botId,
        typeof body.auto_archive_duration === 'number' ? body.auto_archive_duration : 1440,
      );
      return send(201, threadObject);
    }
    m = /^\/applications\/(\d+)(?:\/guilds\/(\d+))?\/commands$/.exec(path);
    if (m && method === 'PUT') {
      const commands = (Array.isArray(call.body) ? call.body : []) as Array<Record<string, unknown>>;
      return send(
        200,
        commands.map((c) => ({
          id: snowflake(),
          application_id: m![1],
          ...(m![2] ? { guild_id: m![2] } : {}),
          version: snowflake(),
          default_member_permissions: null,
          ...c,
        })),
      );
    }
    return send(404, { message: '404: Not Found', code: 0 });
  }

  /**
   * Create Message with `enforce_nonce`: "If another message was created by the same author with the same nonce,
   * that message will be returned and no new message will be created", for a few minutes (`NONCE_WINDOW_MS`).
   * @see https://discord.com/developers/docs/resources/message#create-message-jsonform-params
   */
  private repeatedNonce(channelId: string, body: Record<string, unknown>): FakeMessage | undefined {
    if (body.enforce_nonce !== true || body.nonce === undefined) return undefined;
    const seen = this.nonces.get(`${channelId} ${String(body.nonce)}`);
    if (!seen || this.now() - seen.at > NONCE_WINDOW_MS) return undefined;
    return this.messages.find((x) => x.id === seen.id);
  }

  /**
   * The message a Create Message replies to: its id, undefined for no reply (or, with `fail_if_not_exists: false`,
   * a reply to a message that is not in the channel), false when Discord refuses the reply.
   * @see https://discord.com/developers/docs/resources/message#message-reference-structure
   */
  private referenced(channelId: string, body: Record<string, unknown>): string | undefined | false {
    const reference = body.message_reference as
      | { message_id: string; channel_id?: string; fail_if_not_exists?: boolean }
      | undefined;
    if (!reference) return undefined;
    const where = reference.channel_id ?? channelId;
    const found =
      this.sentByPeople.get(reference.message_id) === where ||
      this.messages.some((x) => x.id === reference.message_id && x.channel_id === where);
    if (found) return reference.message_id;
    return reference.fail_if_not_exists === false ? undefined : false;
  }

  /** A message the bot already posted in `channelId` (as if the gateway had): a status for jobs a test enqueues. */
  seedMessage(channelId: string, content: string): string {
    return this.createMessage(channelId, { content }, [], 'bot').id;
  }

  /** A channel the bot can post in: the test guild's (its threads too) or its DM. */
  private knownChannel(channelId: string): boolean {
    return (
      channelId === this.channelId ||
      this.guildChannels.has(channelId) ||
      this.threads.some((t) => t.id === channelId) ||
      this.isDm(channelId)
    );
  }

  private isDm(channelId: string): boolean {
    return channelId === this.dmChannelId;
  }

  /** A message's guild_id: none in a DM, the other server's in its channel. */
  private guildOf(channelId: string): { guild_id?: string } {
    if (this.isDm(channelId) || channelId === this.privateChannelId) return {};
    return { guild_id: channelId === this.otherChannelId ? this.otherGuildId : this.guildId };
  }

  private createMessage(
    channelId: string,
    body: Record<string, unknown>,
    files: DiscordCall['files'],
    via: 'bot' | 'webhook',
    interactionId?: string,
  ): FakeMessage {
    const data = (body.data ?? body) as Record<string, unknown>;
    const message: FakeMessage = {
      id: snowflake(this.now()),
      channel_id: channelId,
      content: String(data.content ?? ''),
      author_id: this.botId,
      attachments: files.map((f) => ({ id: snowflake(), filename: f.name, bytes: f.bytes })),
      embeds: (data.embeds as FakeEmbed[] | undefined) ?? [],
      allowed_mentions: data.allowed_mentions,
      history: [String(data.content ?? '')],
      via,
      components: (data.components as unknown[] | undefined) ?? [],
      flags: Number(data.flags ?? 0),
      ...(interactionId ? { interaction_id: interactionId } : {}),
    };
    this.messages.push(message);
    return message;
  }

  private editMessage(message: FakeMessage, body: Record<string, unknown>, files: DiscordCall['files']) {
    if (typeof body.content === 'string') {
      message.content = body.content;
      message.history.push(body.content);
    }
    if (body.allowed_mentions !== undefined) message.allowed_mentions = body.allowed_mentions;
    if (body.components !== undefined) message.components = body.components as unknown[];
    if (typeof body.flags === 'number') message.flags |= body.flags & COMPONENTS_V2_FLAG;
    if (body.embeds !== undefined) message.embeds = (body.embeds as FakeEmbed[] | null) ?? [];
    message.attachments = editedAttachments(message.attachments, body.attachments, files);
    return this.messageObject(message);
  }

  private messageObject(message: FakeMessage) {
    return {
      id: message.id,
      channel_id: message.channel_id,
      ...this.guildOf(message.channel_id),
      author: this.user(this.botId, 'lorabot', true),
      content: message.content,
      timestamp: new Date(this.now()).toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: message.attachments.map((a, i) => ({
        id: a.id,
        filename: a.filename,
        size: a.bytes.length,
        url: `${this.baseUrl}/attachments/${message.id}/${i}`,
        proxy_url: `${this.baseUrl}/attachments/${message.id}/${i}`,
      })),
      embeds: message.embeds.map((e) => ({ type: 'rich', ...e })),
      pinned: false,
      // A reply (type 19) or a default message.
      type: message.reply_to ? 19 : 0,
      flags: message.flags,
      components: message.components,
      ...(message.reply_to
        ? {
            message_reference: { type: 0, message_id: message.reply_to, channel_id: message.channel_id },
          }
        : {}),
      ...(message.via === 'webhook'
        ? { webhook_id: this.applicationId, application_id: this.applicationId }
        : {}),
      // "Sent if the message is sent as a result of an interaction" (responses and follow-ups).
      ...(message.interaction_id
        ? {
            interaction_metadata: {
              id: message.interaction_id,
              type: 2,
              user: this.user(this.interactions.get(message.interaction_id)?.userId ?? ''),
              authorizing_integration_owners: { '0': this.guildId },
            },
          }
        : {}),
    };
  }
}

const TEMPLATES: Array<[RegExp, string]> = [
  [/^\/interactions\/\d+\/[^/]+\/callback$/, '/interactions/{interaction_id}/{interaction_token}/callback'],
  [
    /^\/webhooks\/\d+\/[^/]+\/messages\/@original$/,
    '/webhooks/{webhook_id}/{webhook_token}/messages/@original',
  ],
  [/^\/webhooks\/\d+\/[^/]+$/, '/webhooks/{webhook_id}/{webhook_token}'],
  [/^\/webhooks\/\d+\/[^/]+\/messages\/\d+$/, '/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}'],
  [/^\/users\/@me\/channels$/, '/users/@me/channels'],
  [/^\/channels\/\d+\/messages$/, '/channels/{channel_id}/messages'],
  [/^\/channels\/\d+\/messages\/\d+$/, '/channels/{channel_id}/messages/{message_id}'],
  [/^\/channels\/\d+\/messages\/\d+\/threads$/, '/channels/{channel_id}/messages/{message_id}/threads'],
  [/^\/applications\/\d+\/commands$/, '/applications/{application_id}/commands'],
  [
    /^\/applications\/\d+\/guilds\/\d+\/commands$/,
    '/applications/{application_id}/guilds/{guild_id}/commands',
  ],
];

/** A message component, as far as finding buttons needs. */
export interface FakeComponent {
  type?: number;
  custom_id?: string;
  components?: FakeComponent[];
}

/** The action rows of a message: at the top level, or inside a Components V2 container (type 17). */
export function actionRowsOf(components: readonly unknown[]): FakeComponent[] {
  return (components as FakeComponent[]).flatMap((c) =>
    c.type === 17 ? actionRowsOf(c.components ?? []) : c.type === 1 ? [c] : [],
  );
}

function flagsOf(body: DiscordCall['body']): number {
  const data = (body && !Array.isArray(body) ? (body.data ?? body) : {}) as Record<string, unknown>;
  return typeof data.flags === 'number' ? data.flags : 0;
}

/**
 * Components V2 rules the OpenAPI description does not state: with the flag, no `content` (or embeds), and each
 * `attachment://` reference names a file uploaded with the message; without it, only action rows at the top level.
 * @see https://discord.com/developers/docs/components/reference#component-reference
 */
function v2Problem(body: DiscordCall['body'], files: DiscordCall['files']): string | undefined {
  if (!body || Array.isArray(body)) return undefined;
  const data = (body.data ?? body) as Record<string, unknown>;
  const components = (data.components as Array<{ type?: number }> | undefined) ?? [];
  if ((flagsOf(body) & COMPONENTS_V2_FLAG) === 0) {
    return components.some((c) => c.type !== 1)
      ? 'components: only action rows (type 1) without IS_COMPONENTS_V2'
      : undefined;
  }
  if (typeof data.content === 'string' && data.content !== '')
    return 'content: cannot be used with IS_COMPONENTS_V2';
  if (Array.isArray(data.embeds) && data.embeds.length > 0)
    return 'embeds: cannot be used with IS_COMPONENTS_V2';
  if (components.some((c) => !V2_TOP_LEVEL.has(Number(c.type))))
    return 'components: not a top-level component';
  const names = new Set(files.map((f) => f.name));
  const refs = JSON.stringify(components).match(/attachment:\/\/[^"]+/g) ?? [];
  const missing = refs.find((ref) => !names.has(ref.slice('attachment://'.length)));
  return missing ? `components: ${missing} names no uploaded file` : undefined;
}

/**
 * A message's attachments after an edit: with `attachments` in the body, exactly those it lists (kept ones by
 * their id, new ones by the index of their file in this request); without it, the old ones and the new files
 * appended ("Any provided files will be appended to the message. To remove or replace files you will have to
 * supply the `attachments` field"; in v10 the array lists retained and new attachments alike).
 * @see https://discord.com/developers/docs/resources/webhook#edit-webhook-message
 */
function editedAttachments(
  current: FakeAttachment[],
  listed: unknown,
  files: DiscordCall['files'],
): FakeAttachment[] {
  const added = (file: DiscordCall['files'][number]) => ({
    id: snowflake(),
    filename: file.name,
    bytes: file.bytes,
  });
  if (!Array.isArray(listed)) return [...current, ...files.map(added)];
  return (listed as Array<{ id?: unknown }>).flatMap((entry) => {
    const id = String(entry.id);
    const kept = current.find((a) => a.id === id);
    if (kept) return [kept];
    const file = /^\d{1,2}$/.test(id) ? files[Number(id)] : undefined;
    return file ? [added(file)] : [];
  });
}

/**
 * The limit on a message's embeds that the OpenAPI description cannot state: 6000 characters across the titles,
 * descriptions, field names and values, footers and author names of all of them.
 * @see https://discord.com/developers/docs/resources/message#embed-object-embed-limits
 */
function embedsProblem(body: DiscordCall['body']): string | undefined {
  if (!body || Array.isArray(body)) return undefined;
  const data = (body.data ?? body) as Record<string, unknown>;
  if (!Array.isArray(data.embeds)) return undefined;
  const total = (data.embeds as FakeEmbed[]).reduce(
    (sum, e) =>
      sum +
      (e.title?.length ?? 0) +
      (e.description?.length ?? 0) +
      (e.footer?.text?.length ?? 0) +
      (e.author?.name?.length ?? 0) +
      (e.fields ?? []).reduce((n, f) => n + (f.name?.length ?? 0) + (f.value?.length ?? 0), 0),
    0,
  );
  return total > EMBEDS_TOTAL_LIMIT ? `embeds: ${total} characters, over 6000 across embeds` : undefined;
}

function templateOf(path: string): string | undefined {
  return TEMPLATES.find(([pattern]) => pattern.test(path))?.[1];
}

async function parseBody(
  req: IncomingMessage,
  raw: Buffer,
): Promise<{ body: DiscordCall['body']; files: DiscordCall['files'] }> {
  const type = req.headers['content-type'] ?? '';
  if (type.startsWith('multipart/form-data')) {
    const form = await new Response(raw, { headers: { 'content-type': type } }).formData();
    const files: DiscordCall['files'] = [];
    let body: DiscordCall['body'];
    for (const [key, value] of form.entries()) {
      if (key === 'payload_json' && typeof value === 'string')
        body = JSON.parse(value) as Record<string, unknown>;
      else if (typeof value !== 'string')
        files.push({
          name: (value as File).name,
          type: (value as File).type,
          bytes: Buffer.from(await value.arrayBuffer()),
        });
    }
    return { body, files };
  }
  if (raw.length === 0) return { body: undefined, files: [] };
  return { body: JSON.parse(raw.toString('utf8')) as Record<string, unknown>, files: [] };
}
