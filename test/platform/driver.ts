import type { JobData } from '../../src/core/jobs.js';
import type { SourceImage } from '../../src/core/requests.js';
import type { FakeTogether } from '../contract/fakes/fake-together.js';

/**
 * What a person does and sees on a chat platform, in platform-neutral terms. The shared suite
 * (platform-suite.ts) is written against this interface only; each platform passes it by implementing a driver
 * over its real SDK entry point and its fake. Reads are synchronous views of what the fakes have recorded so far,
 * so the suite can poll them with `waitFor`.
 */
export interface PlatformDriver {
  /** The `platform` label in metrics and the ledger. */
  readonly platform: 'slack' | 'discord' | 'web';
  /** What the platform has; behaviours a platform lacks are not defined for it. */
  readonly can: Capabilities;
  /** The `entry` label a typed command counts under in `lorabot_commands_total`. */
  readonly commandEntry: string;
  readonly together: FakeTogether;
  /** The least time between two edits of a streamed answer on this platform. */
  readonly answerEditIntervalMs: number;
  /** The gateway's base URL (for /metrics). */
  readonly httpUrl: string;
  /** A person, known to the platform under `name` (a web person logs in as `name`). */
  user(name: string): Promise<User>;
  /** A channel's platform id, by a name the test chooses; the same name gives the same channel. */
  channel(name: string): string;
  /** The person types `/<kind> <text>` in a channel (the driver's main channel by default). */
  command(kind: Kind, text: string, options: { user: User; channel?: string }): Promise<Request>;
  /** The person writes `text` in the conversation of `to` (its thread), which asks lorabot again. */
  reply(to: Request, text: string, user: User): Promise<Request>;
  /** The person presses a button of the request's status message or of its private answer. */
  press(
    on: Request,
    action: ButtonAction,
    options: { user: User; from?: 'status' | 'private' },
  ): Promise<Request>;
  /**
   * The person presses Edit on the request's status: the editor opens with `opened` (a Slack or Discord modal, a
   * form in the page), and they send `text(opened)` from it; `by`: someone else sends that form instead (a forged
   * submission: their platform would never show them the form).
   */
  edit(
    on: Request,
    options: { user: User; text: (opened: string) => string; by?: User },
  ): Promise<{ opened: string; request: Request }>;
  /**
   * Platforms with message actions: the person uses "Edit with lorabot" on someone's message carrying these
   * attachments and, when the editor opens, sends `text`. `expected`: the sources the message's images should
   * become (Discord: links; Slack: files the worker downloads).
   */
  editMessage?(options: {
    user: User;
    channel?: string;
    attachments: Array<'image' | 'text'>;
    text: string;
  }): Promise<{ request: Request; expected: SourceImage[] }>;
  /** A job's data while the queue keeps it: what it asked for besides its Together body. */
  job(jobId: string): Promise<JobData | undefined>;
  /** The visible status message of the job a request started, once it is posted. */
  status(request: Request): StatusView | undefined;
  /** What only the requester saw in answer to this request (errors, help, lists, confirmations), oldest first. */
  privateAnswers(request: Request): PrivateAnswer[];
  /** The answer message of an `/ask` request, with each text it showed while streaming. */
  answer(request: Request): AnswerView | undefined;
  /** How many messages lorabot posted for the request (besides its status) contain `snippet`. */
  count(request: Request, snippet: string): number;
  /** The image files delivered for a `/flux` request, as uploaded to the platform. */
  images(request: Request): Promise<Buffer[]>;
  /** Completion or failure notices that notified the requester: in the request's place, or by DM. */
  notices(request: Request): NoticeView[];
  /** Everyone and every group that something lorabot posted for this request could notify. */
  pings(request: Request): string[];
  /** The requester's ledger total for today, in micro-USD. */
  spentToday(user: User): Promise<number>;
  close(): Promise<void>;
}

export interface Capabilities {
  /** Replies in a thread continue a conversation. */
  threads: boolean;
  /** More than one channel, so presets can be limited to some. */
  channels: boolean;
  /** Notifications can go by direct message (`/flux notify dm`). */
  directMessages: boolean;
  /** Messages can mention people and groups. */
  mentions: boolean;
  /** "Edit with lorabot" on any message (Discord's message command, Slack's message shortcut). */
  messageActions: boolean;
}

export type Kind = 'flux' | 'ask';
export type ButtonAction = 'cancel' | 'regenerate' | 'vary' | 'edit' | 'details' | 'run' | 'dismiss';
export type StatusState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface User {
  readonly name: string;
  /** The platform's id for the person: what a status says cancelled it. */
  readonly id: string;
}

/** A command or a press, as the driver tracks it; the suite only passes it back. */
export interface Request {
  readonly user: User;
}

export interface Button {
  action: ButtonAction;
  /** The job id (cancel, regenerate, vary, edit, details) or the confirmation id (run, dismiss). */
  id: string;
}

export interface StatusView {
  state: StatusState;
  /** The status line's detail: the cost line (done), the reason (failed), who cancelled (cancelled). */
  detail: string;
  /** Every state the message showed, oldest first, repeats removed. */
  states: StatusState[];
  /** The line under the command that says which earlier messages were sent along, if any. */
  context?: string;
  buttons: Button[];
}

export interface PrivateAnswer {
  text: string;
  buttons: Button[];
}

export interface AnswerView {
  text: string;
  /** Each text the message showed, oldest first (previews end with the cursor). */
  history: string[];
  /** When each accepted edit of the message reached the platform (ms since the epoch). */
  editTimes: number[];
  /**
   * A platform's native stream (Slack's `chat.startStream`): the text grows by appends instead of edits with a
   * cursor; `editTimes` are its start, each append and its stop.
   */
  native?: boolean;
}

export interface NoticeView {
  ok: boolean;
  kind: Kind;
  /** The notice's text after its lead: the cost line, or the failure's reason. */
  text: string;
  where: 'here' | 'dm';
  /** For a DM: the channel the request was made in, as the notice names it. */
  mentionsChannel?: string;
}

/** The streaming preview's cursor, shown at the end of a partial answer. */
export const CURSOR = '▍';

/** Reads a Slack or Discord status line (`✅ Done · Cost: …`) into a state and its detail. */
export function parseStatusLine(line: string): { state: StatusState; detail: string } | undefined {
  const patterns: Array<[StatusState, RegExp]> = [
    ['queued', /Queued(?: \(position (\d+)\))?/],
    ['running', /Running…/],
    ['done', /Done · (.*)$/s],
    ['failed', /Failed: (.*)$/s],
    ['cancelled', /Cancelled by <@([^>]+)>/],
  ];
  for (const [state, pattern] of patterns) {
    const match = pattern.exec(line);
    if (match) return { state, detail: match[1] ?? '' };
  }
  return undefined;
}

/** The states of a message's history, repeats removed. */
export function statesOf(history: readonly string[]): StatusState[] {
  const states: StatusState[] = [];
  for (const text of history) {
    const state = parseStatusLine(text)?.state;
    if (state && states.at(-1) !== state) states.push(state);
  }
  return states;
}

/**
 * Reads a Slack or Discord notice (`<@U1> Your image is ready. Cost: …`, `<@U1> Your /flux request failed: …`)
 * addressed to `userId`.
 */
export function parseNotice(
  text: string,
  userId: string,
): { ok: boolean; kind: Kind; text: string; mentionsChannel?: string } | undefined {
  const lead = `<@${userId}> `;
  if (!text.startsWith(lead)) return undefined;
  // A notice sent by DM ends by naming the channel of the request: ` (in <#C…>)`.
  const where = / \(in <#([^>|]+)(?:\|[^>]*)?>\)$/.exec(text);
  const rest = text.slice(lead.length, where ? where.index : undefined);
  const channel = where ? { mentionsChannel: where[1]! } : {};
  const ready = /^Your (image|answer) is ready\. (.*)$/s.exec(rest);
  if (ready) return { ok: true, kind: ready[1] === 'image' ? 'flux' : 'ask', text: ready[2]!, ...channel };
  const failed = /^Your \/(flux|ask) request failed: (.*)$/s.exec(rest);
  if (failed) return { ok: false, kind: failed[1] as Kind, text: failed[2]!, ...channel };
  return undefined;
}
