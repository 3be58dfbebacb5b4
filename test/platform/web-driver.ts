import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { createParser } from 'eventsource-parser';
import { Redis } from 'ioredis';
import type { WebEvent, WebStatus } from '../../src/adapters/web/web-protocol.js';
import { type Running, startLorabot } from '../../src/cli/runtime.js';
import { loadConfig } from '../../src/config/index.js';
import type { JobData } from '../../src/core/jobs.js';
import type { Logger } from '../../src/core/ports.js';
import { FakeTogether } from '../contract/fakes/fake-together.js';
import { writeTestConfig } from '../helpers/lorabot-harness.js';
import { deleteByPrefix, redisUrl } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';
import {
  type AnswerView,
  type ButtonAction,
  type Capabilities,
  CURSOR,
  type NoticeView,
  type PlatformDriver,
  type PrivateAnswer,
  type Request,
  type StatusState,
  type StatusView,
  type User,
} from './driver.js';

/** The page has one place per person: no threads, no channels, no DMs, no mentions. */
export const WEB_CAPABILITIES: Capabilities = {
  threads: false,
  channels: false,
  directMessages: false,
  mentions: false,
  messageActions: false,
};

/** The web playground's password in the shared suite (and the secrets test, which looks for it everywhere). */
export const PASSWORD = 'web-suite-password-5d1c';
const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

interface WebUser extends User {
  cookie: string;
  csrfToken: string;
  /** Every event of the person's stream so far, with when it arrived. */
  events: Array<{ at: number; event: WebEvent }>;
  stop: AbortController;
}

interface WebRequest extends Request {
  user: WebUser;
  /** The page's id for the message: the command's or press's `requestId`. */
  messageId: string;
  /**
   * For a press on a private answer: that answer's message and how many events the presser's stream had before
   * the press. The page replaces a confirmation where it was asked (Run, Cancel, expired), as Slack's
   * `replace_original` does, so what replaced it is the press's answer.
   */
  replaces?: { messageId: string; since: number };
}

/** A private answer's message id beside its request's: `<request id>:note` (see WebPlatform). */
const noteId = (messageId: string) => `${messageId}:note`;

/**
 * The shared suite's driver for the web playground: logs in with a name and the password, posts commands and
 * button presses to `/api/commands` and `/api/actions` with the session cookie and CSRF token, and reads what
 * the page would show from the session's Server-Sent Events on `/api/events`.
 */
export async function startWebDriver(configExtra: (channel: (name: string) => string) => string) {
  const together = await new FakeTogether().start();
  const prefix = `{lorabot-test-${randomUUID().slice(0, 8)}}`;
  const env = {
    TOGETHER_API_KEY: together.apiKey,
    TOGETHER_BASE_URL: together.baseUrl,
    REDIS_URL: redisUrl(),
    PORT: '0',
    HOST: '127.0.0.1',
    LORABOT_WEB_PASSWORD: PASSWORD,
    LORABOT_CONFIG: writeTestConfig(
      prefix,
      configExtra(() => 'web'),
    ),
  };
  const loaded = loadConfig({ env, cwd: tmpdir() });
  if (!loaded.success) throw new Error(loaded.error.message);
  const running = await startLorabot(loaded.data, {
    gateway: true,
    worker: true,
    logger: silent,
    cwd: tmpdir(),
    redis: { url: redisUrl(), source: 'REDIS_URL' },
  });
  return new WebDriver(together, running, prefix);
}

export class WebDriver implements PlatformDriver {
  readonly platform = 'web';
  readonly can = WEB_CAPABILITIES;
  readonly commandEntry = 'web';
  /** The web deliverer's preview interval. */
  readonly answerEditIntervalMs = 250;
  private readonly users = new Map<string, WebUser>();

  constructor(
    readonly together: FakeTogether,
    readonly running: Running,
    private readonly prefix: string,
  ) {}

  get httpUrl(): string {
    return this.running.httpUrl!;
  }

  channel(): string {
    return 'web';
  }

  /** Logs in as `name` (the ledger's user `web:<name>`) and follows the session's event stream. */
  async user(name: string): Promise<User> {
    const known = this.users.get(name);
    if (known) return known;
    const login = await fetch(`${this.httpUrl}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { origin: this.httpUrl, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ name, password: PASSWORD, next: '/' }).toString(),
    });
    const cookie = /lorabot_session=[^;]+/.exec(login.headers.get('set-cookie') ?? '')?.[0];
    if (login.status !== 303 || !cookie) throw new Error(`web login failed: HTTP ${login.status}`);
    const session = (await (await fetch(`${this.httpUrl}/api/session`, { headers: { cookie } })).json()) as {
      csrfToken: string;
    };
    const user: WebUser = {
      name,
      id: `web:${name}`,
      cookie,
      csrfToken: session.csrfToken,
      events: [],
      stop: new AbortController(),
    };
    await this.follow(user);
    this.users.set(name, user);
    return user;
  }

  async command(kind: 'flux' | 'ask', text: string, options: { user: User }): Promise<Request> {
    const user = options.user as WebUser;
    const messageId = randomUUID();
    await this.post(user, '/api/commands', { text: `/${kind} ${text}`, requestId: messageId });
    const request: WebRequest = { user, messageId };
    return request;
  }

  reply(): Promise<Request> {
    throw new Error('the web playground has no threads to reply in');
  }

  async press(
    on: Request,
    action: ButtonAction,
    options: { user: User; from?: 'status' | 'private' },
  ): Promise<Request> {
    const shown =
      options.from === 'private'
        ? this.privateEvents(on)
        : this.eventsOf(on).filter((e) => e.type === 'status');
    const pressed = shown.find((e) => (e.buttons ?? []).some((b) => b.action === action));
    const button = pressed?.buttons?.find((b) => b.action === action);
    if (!pressed || !button) throw new Error(`no ${action} button`);
    const user = options.user as WebUser;
    const messageId = randomUUID();
    const since = user.events.length;
    await this.post(user, '/api/actions', { action, id: button.id, requestId: messageId });
    const request: WebRequest = {
      user,
      messageId,
      ...(options.from === 'private' ? { replaces: { messageId: pressed.messageId, since } } : {}),
    };
    return request;
  }

  /** Edit: the form the page shows for the press (an `editor` event), sent to `/api/edits`. */
  async edit(
    on: Request,
    options: { user: User; text: (opened: string) => string; by?: User },
  ): Promise<{ opened: string; request: Request }> {
    const user = options.user as WebUser;
    const pressed = (await this.press(on, 'edit', { user })) as WebRequest;
    const editor = await waitFor('the editor form', () =>
      user.events
        .map(({ event }) => event)
        .find(
          (e): e is Extract<WebEvent, { type: 'editor' }> =>
            e.type === 'editor' && e.messageId === pressed.messageId,
        ),
    );
    const messageId = randomUUID();
    const text = options.text(editor.text);
    const sender = (options.by ?? user) as WebUser;
    await this.post(sender, '/api/edits', { draftId: editor.draftId, text, requestId: messageId });
    const request: WebRequest = { user: sender, messageId };
    return { opened: editor.text, request };
  }

  async job(jobId: string): Promise<JobData | undefined> {
    return (await this.running.producer!.find(jobId))?.data;
  }

  status(request: Request): StatusView | undefined {
    const statuses = this.eventsOf(request).filter((e) => e.type === 'status');
    const last = statuses.at(-1);
    if (!last) return undefined;
    const states: StatusState[] = [];
    for (const { status } of statuses) if (states.at(-1) !== status.state) states.push(status.state);
    return {
      state: last.status.state,
      detail: detailOf(last.status),
      states,
      ...(last.context ? { context: last.context } : {}),
      buttons: last.buttons.map((b) => ({ action: b.action, id: b.id })),
    };
  }

  privateAnswers(request: Request): PrivateAnswer[] {
    return this.privateEvents(request).map((e) => ({
      text: e.text,
      buttons: (e.buttons ?? []).map((b) => ({ action: b.action, id: b.id })),
    }));
  }

  answer(request: Request): AnswerView | undefined {
    const { user, messageId } = request as WebRequest;
    type Shown = { at: number; event: Extract<WebEvent, { type: 'preview' | 'answer' }> };
    const shown = user.events.filter(
      (e): e is Shown =>
        e.event.messageId === messageId && (e.event.type === 'preview' || e.event.type === 'answer'),
    );
    const final = shown.find(({ event }) => event.type === 'answer');
    if (!final) return undefined;
    const texts = shown.map(({ event }) =>
      event.type === 'preview' ? previewShown(event.text) : event.text,
    );
    return { text: texts.at(-1)!, history: texts, editTimes: shown.slice(1).map(({ at }) => at) };
  }

  count(request: Request, snippet: string): number {
    return this.eventsOf(request).filter(
      (e) => (e.type === 'answer' || e.type === 'notice') && e.text.includes(snippet),
    ).length;
  }

  async images(request: Request): Promise<Buffer[]> {
    const { user } = request as WebRequest;
    const event = this.eventsOf(request).find((e) => e.type === 'images');
    if (!event) return [];
    return Promise.all(
      event.images.map(async (image) => {
        const response = await fetch(`${this.httpUrl}${image.url}`, { headers: { cookie: user.cookie } });
        if (response.status !== 200) throw new Error(`image ${image.url}: HTTP ${response.status}`);
        return Buffer.from(await response.arrayBuffer());
      }),
    );
  }

  notices(request: Request): NoticeView[] {
    const kind = this.eventsOf(request).find((e) => e.type === 'status')?.kind ?? 'flux';
    return this.eventsOf(request)
      .filter((e) => e.type === 'notice')
      .map((e) => ({ ok: e.ok, kind, text: e.text, where: 'here' as const }));
  }

  /** The page shows text as text: nothing on it notifies anyone. */
  pings(): string[] {
    return [];
  }

  async spentToday(user: User): Promise<number> {
    const day = new Date().toISOString().slice(0, 10);
    return this.running.workers!.ledgerView.total('user', `web:web:${user.id}`, 'day', day);
  }

  async close(): Promise<void> {
    for (const user of this.users.values()) user.stop.abort();
    await this.running.close();
    await this.together.close();
    const redis = new Redis(redisUrl());
    await deleteByPrefix(redis, this.prefix);
    redis.disconnect();
  }

  /**
   * What only the requester saw for the request, oldest first: private messages under its id or beside it, and
   * for a press on a private answer, what replaced that answer after the press.
   */
  private privateEvents(request: Request): Array<Extract<WebEvent, { type: 'private' }>> {
    const { user, messageId, replaces } = request as WebRequest;
    const ids = [messageId, noteId(messageId)];
    return user.events
      .filter(
        ({ event }, i) =>
          ids.includes(event.messageId) ||
          (replaces !== undefined && i >= replaces.since && event.messageId === replaces.messageId),
      )
      .map(({ event }) => event)
      .filter((e) => e.type === 'private');
  }

  private eventsOf(request: Request): WebEvent[] {
    const { user, messageId } = request as WebRequest;
    return user.events.filter(({ event }) => event.messageId === messageId).map(({ event }) => event);
  }

  private async post(user: WebUser, path: string, body: unknown): Promise<void> {
    const response = await fetch(`${this.httpUrl}${path}`, {
      method: 'POST',
      headers: {
        cookie: user.cookie,
        origin: this.httpUrl,
        'x-csrf-token': user.csrfToken,
        'content-type': 'application/json',
      },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status !== 202) throw new Error(`POST ${path}: HTTP ${response.status} ${text}`);
  }

  /** Reads the session's event stream in the background until the driver closes. */
  private async follow(user: WebUser): Promise<void> {
    const response = await fetch(`${this.httpUrl}/api/events`, {
      headers: { cookie: user.cookie, accept: 'text/event-stream' },
      signal: user.stop.signal,
    });
    if (response.status !== 200 || !response.body) throw new Error(`/api/events: HTTP ${response.status}`);
    const parser = createParser({
      onEvent: (message) => user.events.push({ at: Date.now(), event: JSON.parse(message.data) as WebEvent }),
    });
    const decoder = new TextDecoder();
    const reader = response.body.getReader();
    void (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          parser.feed(decoder.decode(value, { stream: true }));
        }
      } catch {
        // Aborted when the driver closes.
      }
    })();
  }
}

/** A preview as the page shows it: the stylesheet puts the cursor after the text, a space apart (app.css). */
function previewShown(text: string): string {
  return text === '' ? CURSOR : `${text} ${CURSOR}`;
}

function detailOf(status: WebStatus): string {
  switch (status.state) {
    case 'done':
      return status.costText;
    case 'failed':
      return status.reason;
    case 'cancelled':
      return status.by;
    default:
      return '';
  }
}
