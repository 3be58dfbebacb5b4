import type { JobData } from '../../src/core/jobs.js';
import type { SourceImage } from '../../src/core/requests.js';
import type { OpenedView, SlackApiCall, SlackMessage } from '../contract/fakes/fake-slack.js';
import { renderImage } from '../contract/fakes/test-images.js';
import { type Harness, startHarness } from '../helpers/lorabot-harness.js';
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

/** Slack has threads, channels, DMs and mentions. */
export const SLACK_CAPABILITIES: Capabilities = {
  threads: true,
  channels: true,
  directMessages: true,
  mentions: true,
  messageActions: true,
};

interface SlackRequest extends Request {
  channel: string;
  /** The `response_url`s lorabot may answer this request through privately. */
  responseUrls: string[];
  /** The ack's body: a private answer given at once. */
  ack?: string;
  /** The thread a follow-up was written in. */
  thread?: string;
  /** How many parents (or thread messages, for a follow-up) the channel had before. */
  since: number;
  /** A submitted editor (no `response_url`): how many ephemeral messages Slack had before; later ones answer it. */
  ephemerals?: number;
}

/** The shared suite's driver for Slack: signed requests to real Bolt, what the fake Slack recorded. */
export async function startSlackDriver(configExtra: (channel: (name: string) => string) => string) {
  const h = await startHarness({ configExtra: configExtra(slackChannel) });
  return new SlackDriver(h);
}

function slackChannel(name: string): string {
  return `C0${name.toUpperCase().replace(/[^A-Z0-9]/g, '')}`;
}

/** Slack delivers command text with `&`, `<` and `>` as HTML entities. */
function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export class SlackDriver implements PlatformDriver {
  readonly platform = 'slack';
  readonly can = SLACK_CAPABILITIES;
  readonly commandEntry = 'slash';
  readonly answerEditIntervalMs = 1200;

  constructor(readonly h: Harness) {}

  get together() {
    return this.h.together;
  }

  get httpUrl() {
    return this.h.running.httpUrl!;
  }

  async user(name: string): Promise<User> {
    return { name, id: `U0${name.toUpperCase().replace(/[^A-Z0-9]/g, '')}` };
  }

  channel(name: string): string {
    return slackChannel(name);
  }

  async command(
    kind: 'flux' | 'ask',
    text: string,
    options: { user: User; channel?: string },
  ): Promise<Request> {
    const channel = options.channel ?? 'C0GENERAL';
    const since = this.h.slack.parents(channel).length;
    const result = await this.h.slash({
      channel_id: channel,
      user_id: options.user.id,
      user_name: options.user.name,
      command: `/${kind}`,
      text: slackEscape(text),
    });
    if (result.status !== 200) throw new Error(`Slack got HTTP ${result.status} for /${kind}`);
    const responseUrl = new URLSearchParams(result.body).get('response_url')!;
    const request: SlackRequest = {
      user: options.user,
      channel,
      responseUrls: [responseUrl],
      since,
      ...(result.text ? { ack: result.text } : {}),
    };
    return request;
  }

  async reply(to: Request, text: string, user: User): Promise<Request> {
    const { channel } = to as SlackRequest;
    const parent = this.statusMessage(to as SlackRequest);
    if (!parent) throw new Error('no status message to reply to');
    const since = this.h.slack.thread(channel, parent.ts).length;
    const status = await this.h.say({ channelId: channel, threadTs: parent.ts, userId: user.id, text });
    if (status !== 200) throw new Error(`Slack got HTTP ${status} for the reply`);
    const request: SlackRequest = { user, channel, responseUrls: [], thread: parent.ts, since };
    return request;
  }

  async press(
    on: Request,
    action: ButtonAction,
    options: { user: User; from?: 'status' | 'private' },
  ): Promise<Request> {
    const request = on as SlackRequest;
    const status = this.statusMessage(request);
    const button = (
      options.from === 'private'
        ? this.privateAnswers(request).flatMap((a) => a.buttons)
        : (this.status(request)?.buttons ?? [])
    ).find((b) => b.action === action);
    if (!button) throw new Error(`no ${action} button`);
    const since = this.h.slack.parents(request.channel).length;
    const pressed = await this.h.press({
      actionId: `lorabot_${action}`,
      value: button.id,
      userId: options.user.id,
      channelId: request.channel,
      ...(status ? { messageTs: status.ts } : {}),
    });
    const next: SlackRequest = {
      user: options.user,
      channel: request.channel,
      responseUrls: [pressed.responseUrl],
      since,
    };
    return next;
  }

  async edit(
    on: Request,
    options: { user: User; text: (opened: string) => string; by?: User },
  ): Promise<{ opened: string; request: Request }> {
    const views = this.h.slack.views.length;
    await this.press(on, 'edit', { user: options.user });
    const view = await waitFor('the editor modal', () => this.h.slack.views[views]);
    const opened = editorText(view);
    const request = await this.submit(view, options.by ?? options.user, options.text(opened));
    return { opened, request };
  }

  /** "Edit with lorabot" (the message shortcut) on a message with these files, then the editor's modal sent. */
  async editMessage(options: {
    user: User;
    channel?: string;
    attachments: Array<'image' | 'text'>;
    text: string;
  }): Promise<{ request: Request; expected: SourceImage[] }> {
    const channel = options.channel ?? 'C0GENERAL';
    // Files the fake Slack serves to the bot token, as Slack does: the worker downloads the image.
    const files = options.attachments.map((kind, i) => {
      const file =
        kind === 'image'
          ? this.h.slack.hostFile(renderImage({ width: 64, height: 64, seed: i + 1, format: 'png' }), {
              name: `photo${i}.png`,
            })
          : this.h.slack.hostFile(Buffer.from('notes'), { name: `notes${i}.txt`, mimetype: 'text/plain' });
      const { id, name, mimetype, size, url_private } = file;
      return { id, name, mimetype, size, url_private };
    });
    const expected: SourceImage[] = files
      .filter((f) => f.mimetype.startsWith('image/'))
      .map((f) => ({
        kind: 'slack-file',
        url: f.url_private,
        name: f.name,
        mimetype: f.mimetype,
        bytes: f.size,
      }));
    const views = this.h.slack.views.length;
    const since = this.h.slack.parents(channel).length;
    const shortcut = await this.h.shortcut({
      callbackId: 'lorabot_edit_message',
      userId: options.user.id,
      channelId: channel,
      files,
    });
    if (shortcut.status !== 200) throw new Error(`Slack got HTTP ${shortcut.status} for the shortcut`);
    if (expected.length === 0) {
      const request: SlackRequest = {
        user: options.user,
        channel,
        responseUrls: [shortcut.responseUrl],
        since,
      };
      return { request, expected };
    }
    const view = await waitFor('the editor modal', () => this.h.slack.views[views]);
    return { request: await this.submit(view, options.user, options.text), expected };
  }

  async job(jobId: string): Promise<JobData | undefined> {
    return (await this.h.running.producer!.find(jobId))?.data;
  }

  /** Sends an editor modal; its answers are ephemeral messages in the channel it was opened for. */
  private async submit(view: OpenedView, user: User, text: string): Promise<Request> {
    const { channel } = JSON.parse(String(view.view.private_metadata)) as { channel: string };
    const since = this.h.slack.parents(channel).length;
    const ephemerals = this.h.slack.ephemerals.length;
    const status = await this.h.submitView({
      viewId: view.id,
      userId: user.id,
      values: { prompt: { text } },
    });
    if (status !== 200) throw new Error(`Slack got HTTP ${status} for the modal`);
    const request: SlackRequest = { user, channel, responseUrls: [], since, ephemerals };
    return request;
  }

  status(request: Request): StatusView | undefined {
    const message = this.statusMessage(request as SlackRequest);
    if (!message) return undefined;
    const contexts = (message.blocks ?? [])
      .map((b) => b as { type: string; elements?: Array<{ text?: string }> })
      .filter((b) => b.type === 'context')
      .map((b) => b.elements?.[0]?.text ?? '');
    const line = parseStatusLine(contexts.at(-1) ?? '');
    if (!line) return undefined;
    return {
      ...line,
      states: statesOf(message.history),
      ...(contexts.length > 1 ? { context: contexts[0]! } : {}),
      buttons: buttonsOf(message.blocks),
    };
  }

  privateAnswers(request: Request): PrivateAnswer[] {
    const { ack, responseUrls } = request as SlackRequest;
    const answers: PrivateAnswer[] = [];
    if (ack) {
      const body = JSON.parse(ack) as { response_type?: string; text: string; blocks?: unknown[] };
      if (body.response_type === 'ephemeral')
        answers.push({ text: body.text, buttons: buttonsOf(body.blocks) });
    }
    const ids = responseUrls.map((url) => url.split('/').pop());
    for (const response of this.h.slack.responses.filter((r) => ids.includes(r.id))) {
      answers.push({
        text: String(response.body.text ?? ''),
        buttons: buttonsOf(response.body.blocks as unknown[] | undefined),
      });
    }
    const { ephemerals, channel, user } = request as SlackRequest;
    if (ephemerals !== undefined) {
      for (const message of this.h.slack.ephemerals.slice(ephemerals)) {
        if (message.channel === channel && message.user === user.id && !message.thread_ts)
          answers.push({ text: message.text, buttons: buttonsOf(message.blocks) });
      }
    }
    return answers;
  }

  answer(request: Request): AnswerView | undefined {
    const message = this.placeMessages(request as SlackRequest).find(
      (m) => !parseNotice(m.text, request.user.id),
    );
    if (!message) return undefined;
    if (message.chunks) {
      // A native stream: started in the thread, then appended to and stopped by its ts.
      const ofMessage = (c: SlackApiCall) =>
        c.outcome === 'ok' &&
        c.args.channel === message.channel &&
        (c.method === 'chat.startStream' ? c.args.thread_ts === message.thread_ts : c.args.ts === message.ts);
      const editTimes = ['chat.startStream', 'chat.appendStream', 'chat.stopStream']
        .flatMap((method) => this.h.slack.callsTo(method).filter(ofMessage))
        .map((c) => c.at)
        .sort((a, b) => a - b);
      return { text: message.text, history: message.history, editTimes, native: true };
    }
    const editTimes = this.h.slack
      .callsTo('chat.update')
      .filter((c) => c.args.ts === message.ts && c.outcome === 'ok')
      .map((c) => c.at);
    return { text: message.text, history: message.history, editTimes };
  }

  count(request: Request, snippet: string): number {
    return this.placeMessages(request as SlackRequest).filter((m) => m.text.includes(snippet)).length;
  }

  async images(request: Request): Promise<Buffer[]> {
    const parent = this.statusMessage(request as SlackRequest);
    if (!parent) return [];
    return this.h.slack.files
      .filter((f) => f.channel === parent.channel && f.thread_ts === (parent.thread_ts ?? parent.ts))
      .map((f) => f.bytes);
  }

  notices(request: Request): NoticeView[] {
    const { user, channel } = request as SlackRequest;
    const here = this.placeMessages(request as SlackRequest)
      .map((m) => parseNotice(m.text, user.id))
      .filter((n) => n !== undefined)
      .map((n) => ({ ...n, where: 'here' as const }));
    const dm = this.h.slack.messages
      .filter((m) => m.channel === user.id)
      .map((m) => parseNotice(m.text, user.id))
      .filter((n) => n !== undefined && n.mentionsChannel === channel)
      .map((n) => ({ ...n!, where: 'dm' as const }));
    return [...here, ...dm];
  }

  pings(request: Request): string[] {
    const status = this.statusMessage(request as SlackRequest);
    const texts = [
      ...(status?.history ?? []),
      ...this.placeMessages(request as SlackRequest).flatMap((m) => m.history),
      ...this.privateAnswers(request).map((a) => a.text),
    ];
    // Slack notifies for <@U…>, <!here>, <!channel>, <!everyone> and <!subteam^…>; plain text notifies no one.
    return texts.flatMap((t) =>
      [...t.matchAll(/<([@!][^>|]+)(?:\|[^>]*)?>/g)].map((m) => m[1]!.replace(/^@/, '')),
    );
  }

  async spentToday(user: User): Promise<number> {
    const day = new Date().toISOString().slice(0, 10);
    return this.h.running.workers!.ledgerView.total(
      'user',
      `slack:${this.h.slack.teamId}:${user.id}`,
      'day',
      day,
    );
  }

  close(): Promise<void> {
    return this.h.close();
  }

  /** The request's status message: a new parent in the channel, or a new message in the follow-up's thread. */
  private statusMessage(request: SlackRequest): SlackMessage | undefined {
    const candidates = request.thread
      ? this.h.slack.thread(request.channel, request.thread)
      : this.h.slack.parents(request.channel);
    return candidates.slice(request.since).find((m) => m.text.startsWith(`<@${request.user.id}> ran `));
  }

  /** What lorabot posted for the request besides its status: its thread (after the status, for a follow-up). */
  private placeMessages(request: SlackRequest): SlackMessage[] {
    const status = this.statusMessage(request);
    if (!status) return [];
    const thread = this.h.slack.thread(request.channel, status.thread_ts ?? status.ts);
    return status.thread_ts ? thread.slice(thread.indexOf(status) + 1) : thread;
  }
}

/** The text an editor modal opened with: its prompt input's initial value. */
function editorText(view: OpenedView): string {
  const blocks = view.view.blocks as Array<{ block_id?: string; element?: { initial_value?: string } }>;
  return blocks.find((b) => b.block_id === 'prompt')?.element?.initial_value ?? '';
}

/** The buttons of a message's blocks (`actions` elements and section accessories); action ids are `lorabot_<action>`. */
function buttonsOf(blocks: unknown[] | undefined): Button[] {
  type Element = { action_id?: string; value?: string };
  return (blocks ?? [])
    .map((b) => b as { type: string; elements?: Element[]; accessory?: Element })
    .flatMap((b) => (b.type === 'actions' ? (b.elements ?? []) : b.accessory ? [b.accessory] : []))
    .filter((e) => e.action_id?.startsWith('lorabot_'))
    .map((e) => ({ action: e.action_id!.slice('lorabot_'.length) as ButtonAction, id: e.value ?? '' }));
}
