import type { WebClient } from '@slack/web-api';
import type { SlackTarget, StepPost } from '../../core/jobs.js';
import { FEEDBACK_ACTION } from './slack-feedback.js';
import { escapeSlackText } from './slack-text.js';
import type { FoundMessage, SlackThreadReader } from './slack-thread.js';

/**
 * Slack's native text streaming: an answer grows in one thread reply by `chat.startStream`, `chat.appendStream`
 * and `chat.stopStream`, instead of `chat.update` edits of a posted message.
 *
 * - Where a workspace or a kind of channel cannot stream (the method is missing, or Slack answers `ok:false`,
 *   e.g. `method_not_supported_for_channel_type`), this process remembers it per workspace and channel type
 *   (`unknown_method`: the whole workspace), so the fallback to the edit loop costs one failed call at most once.
 * - A stream's id carries a prefix (`stream:<ts>`), so the job's journal (`answer:stream`) tells a native stream
 *   from an edited message on a retry. What a stream has shown lives in this process only: a stream this process
 *   did not start (a retried job after its worker stopped) or one whose append failed is stopped with a note and
 *   never appended to again; the answer is then posted whole below it. A retried job never starts a second
 *   stream: `answer:stream` is a journaled step.
 * - Model text is escaped (`&`, `<`, `>`) before it is sent, so it can never form a mention or a link.
 * @see https://docs.slack.dev/reference/methods/chat.startStream
 * @see https://docs.slack.dev/reference/methods/chat.appendStream
 * @see https://docs.slack.dev/reference/methods/chat.stopStream
 */

const NATIVE_PREFIX = 'stream:';
/**
 * The most of an answer one streamed message shows (raw characters): `markdown_text` takes 12,000 characters per
 * call, and escaping can grow the text; the rest is posted as messages below it.
 */
export const STREAM_RAW_LIMIT = 8000;
const MARKDOWN_LIMIT = 12_000;
/**
 * `chat.appendStream` is Tier 4 (100+ calls a minute per workspace): one append per 2 s per answer lets three
 * answers stream at once within it. `chat.update` is Tier 3 (50+), which one answer edited every 1.2 s uses up.
 */
export const APPEND_INTERVAL_MS = 2000;
/** The task shown while the answer is written, completed when it stops. */
const TASK = { type: 'task_update', id: 'answer' } as const;

/** The block of a finished answer's footer, as `chat.stopStream` and `chat.postMessage` take them. */
export type SlackBlock = Record<string, unknown>;

interface LiveStream {
  /** The answer's raw text shown so far (a prefix of every later text, or the stream is broken). */
  shown: string;
  broken: boolean;
}

/** How a streamed answer ends: text for the stream, what is left to post as messages, and the footer's place. */
export interface StreamEnd {
  /** Raw text left for messages below the stream (empty: the stream holds all of it). */
  rest: string;
}

export function isNativeStream(messageId: string | undefined): messageId is string {
  return messageId?.startsWith(NATIVE_PREFIX) ?? false;
}

function tsOf(id: string): string {
  return id.slice(NATIVE_PREFIX.length);
}

/** The platform error code of a Web API call that Slack answered `ok:false`, if it was one. */
export function slackErrorCode(error: unknown): string | undefined {
  const { code, data } = error as { code?: string; data?: { error?: string } };
  return code === 'slack_webapi_platform_error' ? data?.error : undefined;
}

/** Native streams of one process: which places cannot stream, and what each live stream has shown. */
export class SlackStreams {
  /** `workspace:channel type` (or `workspace:*`) → the error that said it cannot stream there. */
  private readonly unsupported = new Map<string, string>();
  private readonly live = new Map<string, LiveStream>();

  constructor(
    private readonly client: WebClient,
    /** The job thread's reader, the one its retried steps use. */
    private readonly reader: SlackThreadReader,
  ) {}

  /**
   * Starts a stream in the job's thread, addressed to the requester (Slack needs the recipient outside a DM).
   * Returns its id, or undefined where streams are known not to work or Slack refused this one.
   */
  async start(target: SlackTarget, post?: StepPost): Promise<string | undefined> {
    if (this.cannotStream(target)) return undefined;
    if (post?.retry) {
      // An earlier attempt may have started a stream and stopped before the journal kept its id: a reply in the
      // thread with no text yet and no step metadata is that stream (only a stream starts empty); it is taken
      // over instead of a second one started.
      const orphan = (await this.thread(target)).filter(
        (m) => m.ts && m.ts !== target.parentTs && !m.metadata && !m.text?.trim(),
      );
      const ts = orphan.at(-1)?.ts;
      if (ts) {
        const id = `${NATIVE_PREFIX}${ts}`;
        this.live.set(id, { shown: '', broken: false });
        return id;
      }
    }
    const chat = this.client.chat as Partial<WebClient['chat']>;
    if (typeof chat.startStream !== 'function') {
      this.unsupported.set(`${target.workspaceId}:*`, 'no chat.startStream in this @slack/web-api');
      return undefined;
    }
    try {
      const started = await chat.startStream({
        channel: target.channelId,
        thread_ts: target.parentTs,
        recipient_user_id: target.userId,
        recipient_team_id: target.workspaceId,
        chunks: [{ ...TASK, title: 'Writing the answer', status: 'in_progress' }],
      });
      const id = `${NATIVE_PREFIX}${String(started.ts)}`;
      this.live.set(id, { shown: '', broken: false });
      return id;
    } catch (error) {
      const code = slackErrorCode(error);
      // A refusal is remembered; a network failure only sends this answer to the edit loop.
      if (code)
        this.unsupported.set(code === 'unknown_method' ? `${target.workspaceId}:*` : placeKey(target), code);
      return undefined;
    }
  }

  /** Whether this process has seen Slack refuse streams at the target's workspace and kind of channel. */
  cannotStream(target: SlackTarget): boolean {
    return this.unsupported.has(`${target.workspaceId}:*`) || this.unsupported.has(placeKey(target));
  }

  /** Appends what the answer gained since the last append (at most `STREAM_RAW_LIMIT` in all). */
  async append(target: SlackTarget, id: string, partial: string): Promise<void> {
    const stream = this.live.get(id) ?? (await this.adopt(target, id));
    if (!stream) return this.abandon(target, id);
    if (stream.broken) return;
    const settled = showLinks(withoutOpenLink(partial));
    const text = settled.length <= STREAM_RAW_LIMIT ? settled : cutBefore(settled, STREAM_RAW_LIMIT);
    if (!text.startsWith(stream.shown)) {
      stream.broken = true;
      return;
    }
    const delta = text.slice(stream.shown.length);
    if (!delta) return;
    try {
      await this.client.chat.appendStream({
        channel: target.channelId,
        ts: tsOf(id),
        markdown_text: escapeSlackText(delta),
      });
      stream.shown = text;
    } catch (error) {
      stream.broken = true;
      throw error;
    }
  }

  /**
   * Stops the stream with the rest of the answer that fits and `footer` (when nothing is left for messages).
   * Returns the raw text still to post below it: all of it when the stream was broken or started elsewhere (it
   * is then stopped with a note instead).
   */
  async stop(
    target: SlackTarget,
    id: string,
    end: { text: string; footer: SlackBlock[] },
    retry = false,
  ): Promise<StreamEnd> {
    const stream = this.live.get(id) ?? (await this.adopt(target, id));
    this.live.delete(id);
    const text = showLinks(end.text);
    if (!stream || stream.broken || !text.startsWith(stream.shown)) {
      const stoppedNow = await this.stopWithNote(target, id);
      // Already stopped, by an earlier attempt that did not live to journal it: if that stop carried the footer,
      // the whole answer is in the stream and nothing is left to post.
      if (!stoppedNow && retry) {
        const message = (await this.thread(target)).find((m) => m.ts === tsOf(id));
        if (message && JSON.stringify(message.blocks ?? []).includes(FEEDBACK_ACTION)) return { rest: '' };
      }
      return { rest: end.text };
    }
    const rest = text.slice(stream.shown.length);
    const head = fitting(stream.shown, rest);
    const left = rest.slice(head.length).replace(/^\s+/, '');
    const chunks: Array<Record<string, unknown>> = [];
    if (head) chunks.push({ type: 'markdown_text', text: escapeSlackText(head) });
    chunks.push({ ...TASK, title: 'Answer written', status: 'complete' });
    await this.client.chat.stopStream({
      channel: target.channelId,
      ts: tsOf(id),
      chunks,
      ...(left ? {} : { blocks: end.footer }),
    } as unknown as Parameters<WebClient['chat']['stopStream']>[0]);
    return { rest: left };
  }

  /**
   * A stream this process did not start (the job was retried on another worker, e.g. after Together refused its
   * first call): taken over when Slack shows it still empty, since then nothing of another attempt's answer is in
   * it; otherwise undefined (it is stopped with a note, and the answer posted below it). A thread that cannot be
   * read leaves it undefined too: nothing is written over what may be another attempt's answer.
   */
  private async adopt(target: SlackTarget, id: string): Promise<LiveStream | undefined> {
    const ts = tsOf(id);
    const thread = await this.thread(target).catch(() => []);
    const message = thread.find((m) => m.ts === ts);
    if (!message || message.text?.trim()) return undefined;
    const stream = { shown: '', broken: false };
    this.live.set(id, stream);
    return stream;
  }

  /** The job's thread as Slack has it, with the metadata of each step's message (read only on a retry). */
  private thread(target: SlackTarget): Promise<FoundMessage[]> {
    return this.reader.read({ channel: target.channelId, thread_ts: target.parentTs });
  }

  /** A stream this process cannot continue: stopped with a note, and nothing appended to it again. */
  private async abandon(target: SlackTarget, id: string): Promise<void> {
    this.live.set(id, { shown: '', broken: true });
    await this.stopWithNote(target, id);
  }

  /**
   * Stops a stream that will not be finished; one already stopped (an earlier attempt's) is left as it is.
   * Returns whether it was still streaming.
   */
  private async stopWithNote(target: SlackTarget, id: string): Promise<boolean> {
    try {
      await this.client.chat.stopStream({
        channel: target.channelId,
        ts: tsOf(id),
        chunks: [
          { type: 'markdown_text', text: '\n\n_(Interrupted: the answer is posted below.)_' },
          { ...TASK, title: 'Interrupted', status: 'error' },
        ],
      } as Parameters<WebClient['chat']['stopStream']>[0]);
      return true;
    } catch (error) {
      if (slackErrorCode(error) !== 'message_not_in_streaming_state') throw error;
      return false;
    }
  }
}

/** A Markdown link or image, as `markdownToMrkdwn` finds them. */
const LINK = /!?\[([^\]\n]*)\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g;
/** The end of a text that may still become a link as more arrives: from its `[` (or `![`) on the last line. */
const MAYBE_LINK = /!?\[[^\]\n]*(?:\](?:\([^)\s]*(?:\s+"[^"]*"?)?)?)?$/;

/**
 * Links shown with their real address (`label (https://…)`), never as a label that hides where it goes: Slack
 * renders `markdown_text` links. The same rule as `markdownToMrkdwn` for posted messages.
 */
export function showLinks(text: string): string {
  return text.replace(LINK, (_, label: string, url: string) =>
    label && label !== url ? `${label} (${url})` : url,
  );
}

/**
 * The text without an unfinished link at its end, which is held back until it is complete: what has been
 * streamed is never rewritten, so a link must be whole before it is shown.
 */
function withoutOpenLink(text: string): string {
  const open = MAYBE_LINK.exec(text);
  return open ? text.slice(0, open.index) : text;
}

/** Channels `C…`, private channels `G…`, DMs `D…`: what Slack allows streams in differs by kind. */
function placeKey(target: SlackTarget): string {
  return `${target.workspaceId}:${target.channelId.charAt(0)}`;
}

/** How much of `rest` the stream can still take after `shown`: up to the limits, cut at a line or word end. */
function fitting(shown: string, rest: string): string {
  const room = STREAM_RAW_LIMIT - shown.length;
  if (room <= 0) return '';
  if (rest.length <= room) return escapeSlackText(shown + rest).length <= MARKDOWN_LIMIT ? rest : '';
  // Only at a line or word end: a word is never split between the stream and the message after it.
  const window = rest.slice(0, room + 1);
  const cut = Math.max(window.lastIndexOf('\n'), window.lastIndexOf(' '));
  const head = cut > 0 ? rest.slice(0, cut) : '';
  return escapeSlackText(shown + head).length <= MARKDOWN_LIMIT ? head : '';
}

/** The text up to `max` characters, ending at its last line or word end when one is in the second half. */
function cutBefore(text: string, max: number): string {
  const window = text.slice(0, max);
  const cut = Math.max(window.lastIndexOf('\n'), window.lastIndexOf(' '));
  return cut > max / 2 ? window.slice(0, cut) : window;
}
