import type { JobData } from '../../src/core/jobs.js';
import type { SourceImage } from '../../src/core/requests.js';
import { actionRowsOf, type FakeMessage, snowflake } from '../contract/fakes/fake-discord.js';
import { type DiscordHarness, startDiscordHarness } from '../helpers/discord-harness.js';
import { waitFor } from '../helpers/wait.js';
import {
  type AnswerView,
  type Button,
  type ButtonAction,
  type Capabilities,
  type NoticeView,
  type PlatformDriver,
  type PrivateAnswer,
  parseNotice,
  parseStatusLine,
  type Request,
  type StatusView,
  statesOf,
  type User,
} from './driver.js';

/** Discord has threads, channels, DMs and mentions. */
export const DISCORD_CAPABILITIES: Capabilities = {
  threads: true,
  channels: true,
  directMessages: true,
  mentions: true,
  messageActions: true,
};

interface DiscordRequest extends Request {
  channel: string;
  /** The interaction of a slash command or a button press; absent for a message that mentions the bot. */
  interactionId?: string;
  /** How many messages the fake had recorded before. */
  since: number;
}

const EPHEMERAL = 64;

/** The shared suite's driver for Discord: real discord.js on the fake gateway, what the fake Discord recorded. */
export async function startDiscordDriver(configExtra: (channel: (name: string) => string) => string) {
  const channels = new Map<string, string>();
  let main = '';
  const channel = (name: string) => {
    if (name === 'general') return main;
    if (!channels.has(name)) channels.set(name, snowflake());
    return channels.get(name)!;
  };
  const h = await startDiscordHarness({
    configExtra: (fake) => {
      main = fake.channelId;
      return configExtra(channel);
    },
  });
  return new DiscordDriver(h, channel);
}

export class DiscordDriver implements PlatformDriver {
  readonly platform = 'discord';
  readonly can = DISCORD_CAPABILITIES;
  readonly commandEntry = 'slash';
  readonly answerEditIntervalMs = 1000;
  private readonly users = new Map<string, string>();

  constructor(
    readonly h: DiscordHarness,
    readonly channel: (name: string) => string,
  ) {}

  get together() {
    return this.h.together;
  }

  get httpUrl() {
    return this.h.running.httpUrl!;
  }

  private get discord() {
    return this.h.discord;
  }

  async user(name: string): Promise<User> {
    if (!this.users.has(name)) this.users.set(name, snowflake());
    return { name, id: this.users.get(name)! };
  }

  async command(
    kind: 'flux' | 'ask',
    text: string,
    options: { user: User; channel?: string },
  ): Promise<Request> {
    const since = this.discord.messages.length;
    const channel = options.channel ?? this.discord.channelId;
    const { id } = this.discord.sendCommand({
      name: kind,
      options: [{ name: kind === 'flux' ? 'prompt' : 'question', type: 3, value: text }],
      userId: options.user.id,
      channelId: channel,
    });
    const request: DiscordRequest = { user: options.user, channel, interactionId: id, since };
    return request;
  }

  /** A reply to the status message that mentions the bot: Discord's way to continue a conversation. */
  async reply(to: Request, text: string, user: User): Promise<Request> {
    const status = this.statusMessage(to as DiscordRequest);
    if (!status) throw new Error('no status message to reply to');
    const since = this.discord.messages.length;
    this.discord.sendMessage({
      content: `<@${this.discord.botId}> ${text}`,
      mention: true,
      userId: user.id,
      channelId: status.channel_id,
      replyTo: status.id,
    });
    const request: DiscordRequest = { user, channel: status.channel_id, since };
    return request;
  }

  async press(
    on: Request,
    action: ButtonAction,
    options: { user: User; from?: 'status' | 'private' },
  ): Promise<Request> {
    const request = on as DiscordRequest;
    const hosts =
      options.from === 'private'
        ? this.privateMessages(request)
        : [this.statusMessage(request)].filter((m) => m !== undefined);
    const host = hosts.find((m) => buttonsOf(m).some((b) => b.action === action));
    if (!host) throw new Error(`no ${action} button`);
    const button = buttonsOf(host).find((b) => b.action === action)!;
    const since = this.discord.messages.length;
    const { id } = this.discord.pressButton({
      messageId: host.id,
      customId: `lorabot:${button.action}:${button.id}`,
      userId: options.user.id,
    });
    const next: DiscordRequest = { user: options.user, channel: host.channel_id, interactionId: id, since };
    return next;
  }

  async edit(
    on: Request,
    options: { user: User; text: (opened: string) => string; by?: User },
  ): Promise<{ opened: string; request: Request }> {
    const modals = this.discord.modals.length;
    const pressed = (await this.press(on, 'edit', { user: options.user })) as DiscordRequest;
    const modal = await waitFor('the editor modal', () => this.discord.modals[modals]);
    const opened = modalText(modal.data);
    const sender = options.by ?? options.user;
    return { opened, request: this.submit(modal.data, sender, pressed.channel, options.text(opened)) };
  }

  /** "Edit with lorabot" (the message command) on a message with these attachments, then the editor sent. */
  async editMessage(options: {
    user: User;
    channel?: string;
    attachments: Array<'image' | 'text'>;
    text: string;
  }): Promise<{ request: Request; expected: SourceImage[] }> {
    const channel = options.channel ?? this.discord.channelId;
    const attachments = options.attachments.map((kind, i) => {
      const [filename, contentType] =
        kind === 'image' ? [`photo${i}.png`, 'image/png'] : [`notes${i}.txt`, 'text/plain; charset=utf-8'];
      const url = `https://cdn.discordapp.com/attachments/${channel}/${snowflake()}/${filename}?ex=6a1b2c3d&is=6a19dabd&hm=0f1e2d`;
      return { filename, contentType, url };
    });
    const expected: SourceImage[] = attachments
      .filter((a) => a.contentType.startsWith('image/'))
      .map((a) => ({ kind: 'link', url: a.url }));
    const modals = this.discord.modals.length;
    const since = this.discord.messages.length;
    const { id } = this.discord.sendMessageCommand({
      name: 'Edit with lorabot',
      userId: options.user.id,
      channelId: channel,
      attachments,
    });
    if (expected.length === 0) {
      const request: DiscordRequest = { user: options.user, channel, interactionId: id, since };
      return { request, expected };
    }
    const modal = await waitFor('the editor modal', () => this.discord.modals[modals]);
    return { request: this.submit(modal.data, options.user, channel, options.text), expected };
  }

  async job(jobId: string): Promise<JobData | undefined> {
    return (await this.h.running.producer!.find(jobId))?.data;
  }

  /** Sends an editor modal (MODAL_SUBMIT): a new interaction, answered like a slash command. */
  private submit(modal: Record<string, unknown>, user: User, channel: string, text: string): Request {
    const since = this.discord.messages.length;
    const { id } = this.discord.submitModal({
      customId: String(modal.custom_id),
      userId: user.id,
      channelId: channel,
      values: { text },
    });
    const request: DiscordRequest = { user, channel, interactionId: id, since };
    return request;
  }

  status(request: Request): StatusView | undefined {
    const message = this.statusMessage(request as DiscordRequest);
    if (!message) return undefined;
    const lines = message.content.split('\n');
    const line = parseStatusLine(lines.at(-1) ?? '');
    if (!line) return undefined;
    const context = lines.find((l) => l.startsWith('-# '))?.slice(3);
    return {
      ...line,
      states: statesOf(message.history),
      ...(context ? { context } : {}),
      buttons: buttonsOf(message),
    };
  }

  privateAnswers(request: Request): PrivateAnswer[] {
    return this.privateMessages(request as DiscordRequest).map((m) => ({
      text: m.content,
      buttons: buttonsOf(m),
    }));
  }

  answer(request: Request): AnswerView | undefined {
    const message = this.placeMessages(request as DiscordRequest).find(
      (m) => m.attachments.length === 0 && m.content !== '' && !parseNotice(m.content, request.user.id),
    );
    if (!message) return undefined;
    const editTimes = this.discord.calls
      .filter((c) => c.method === 'PATCH' && c.path.endsWith(`/messages/${message.id}`) && c.status === 200)
      .map((c) => c.at);
    return { text: message.content, history: message.history, editTimes };
  }

  count(request: Request, snippet: string): number {
    return this.placeMessages(request as DiscordRequest).filter((m) => m.content.includes(snippet)).length;
  }

  async images(request: Request): Promise<Buffer[]> {
    return this.placeMessages(request as DiscordRequest).flatMap((m) => m.attachments.map((a) => a.bytes));
  }

  notices(request: Request): NoticeView[] {
    const { user } = request as DiscordRequest;
    const status = this.statusMessage(request as DiscordRequest);
    const here = this.placeMessages(request as DiscordRequest)
      .map((m) => parseNotice(m.content, user.id))
      .filter((n) => n !== undefined)
      .map((n) => ({ ...n, where: 'here' as const }));
    // A DM notice names the channel the results went to: the status's channel, or the thread on it.
    const places = [status?.channel_id, status?.id];
    const dm = this.discord
      .messagesIn(this.discord.dmChannelId)
      .filter(() => this.discord.dmRecipients.get(this.discord.dmChannelId) === user.id)
      .map((m) => parseNotice(m.content, user.id))
      .filter((n) => n !== undefined && places.includes(n.mentionsChannel))
      .map((n) => ({ ...n!, where: 'dm' as const }));
    return [...here, ...dm];
  }

  /**
   * Whom Discord would notify for the request's messages: mentions in the content, filtered by each message's
   * `allowed_mentions` (absent: Discord's default, which parses every kind).
   * @see https://discord.com/developers/docs/resources/message#allowed-mentions-object
   */
  pings(request: Request): string[] {
    const status = this.statusMessage(request as DiscordRequest);
    const messages = [
      ...(status ? [status] : []),
      ...this.placeMessages(request as DiscordRequest),
      ...this.privateMessages(request as DiscordRequest),
    ];
    return messages.flatMap((m) => {
      const allowed = m.allowed_mentions as
        | { parse?: string[]; users?: string[]; roles?: string[] }
        | undefined;
      const parse = allowed ? (allowed.parse ?? []) : ['users', 'roles', 'everyone'];
      const texts = m.history;
      const users = texts.flatMap((t) => [...t.matchAll(/<@!?(\d+)>/g)].map((x) => x[1]!));
      const roles = texts.flatMap((t) => [...t.matchAll(/<@&(\d+)>/g)].map((x) => `&${x[1]!}`));
      const everyone = texts.flatMap((t) => [...t.matchAll(/@(everyone|here)/g)].map((x) => x[1]!));
      return [
        ...users.filter((u) => parse.includes('users') || (allowed?.users ?? []).includes(u)),
        ...roles.filter((r) => parse.includes('roles') || (allowed?.roles ?? []).includes(r.slice(1))),
        ...(parse.includes('everyone') ? everyone : []),
      ];
    });
  }

  async spentToday(user: User): Promise<number> {
    const day = new Date().toISOString().slice(0, 10);
    const key = `discord:${this.discord.guildId}:${user.id}`;
    return this.h.running.workers!.ledgerView.total('user', key, 'day', day);
  }

  close(): Promise<void> {
    return this.h.close();
  }

  /** The interaction's public reply, or the bot's reply to the mention, once it names the command. */
  private statusMessage(request: DiscordRequest): FakeMessage | undefined {
    const isStatus = (m: FakeMessage) => m.content.startsWith(`<@${request.user.id}> ran `);
    if (request.interactionId) {
      const message = this.discord.publicReply(request.interactionId);
      return message && isStatus(message) ? message : undefined;
    }
    return this.discord.messages.slice(request.since).find(isStatus);
  }

  /** Ephemeral answers to the interaction, and the message it updated in place (a dismissed confirmation). */
  private privateMessages(request: DiscordRequest): FakeMessage[] {
    const id = request.interactionId;
    if (!id) return [];
    const updated = this.discord.calls.some(
      (c) => c.path.startsWith(`/interactions/${id}/`) && (c.body as { type?: number }).type === 7,
    );
    const pressedOn = updated ? this.discord.interaction(id)?.messageId : undefined;
    // A private deferred response still "thinking" (no content yet) is not an answer.
    const answered = (m: FakeMessage) => m.content !== '' || m.components.length > 0;
    return this.discord.messages.filter(
      (m) => (m.interaction_id === id && (m.flags & EPHEMERAL) !== 0 && answered(m)) || m.id === pressedOn,
    );
  }

  /** What lorabot posted for the request besides its status: follow-ups of the interaction, or the thread. */
  private placeMessages(request: DiscordRequest): FakeMessage[] {
    const status = this.statusMessage(request);
    if (!status) return [];
    const answers = request.interactionId
      ? new Set(this.discord.answersTo(request.interactionId))
      : undefined;
    const place = (m: FakeMessage) =>
      answers ? answers.has(m) : m.channel_id === status.id || m.channel_id === status.channel_id;
    return this.discord.messages
      .slice(request.since)
      .filter(
        (m) => m !== status && (m.flags & EPHEMERAL) === 0 && place(m) && !m.content.includes(' ran `'),
      );
  }
}

/** The text an editor modal opened with: its text input's value. */
function modalText(modal: Record<string, unknown>): string {
  const rows = modal.components as Array<{ components: Array<{ value?: string }> }>;
  return rows[0]?.components[0]?.value ?? '';
}

/**
 * The buttons of a message, in its action rows (at the top level, or inside a Components V2 container such as an
 * image gallery's); custom ids are `lorabot:<action>:<id>`.
 */
function buttonsOf(message: FakeMessage): Button[] {
  return actionRowsOf(message.components)
    .flatMap((row) => row.components ?? [])
    .map((c) => /^lorabot:([a-z]+):(.+)$/.exec(c.custom_id ?? ''))
    .filter((m) => m !== null)
    .map((m) => ({ action: m[1] as ButtonAction, id: m[2]! }));
}
