import type { WebClient } from '@slack/web-api';

/** Where a step posts: a channel (a thread in it), or a DM with `user`. */
export interface SlackPlace {
  channel: string;
  thread_ts?: string;
  /** A DM: `channel` is the user's id, which `chat.postMessage` accepts and `conversations.history` does not. */
  dm?: boolean;
}

/** A message as the reader returns it: what a retried step looks for in it. */
export interface FoundMessage {
  ts?: string;
  text?: string;
  blocks?: unknown[];
  metadata?: { event_type?: string; event_payload?: Record<string, unknown> };
  files?: Array<{ id?: string }>;
}

/** One page of a thread: a job's thread (status, results, notice, a few follow-ups) fits in it. */
const THREAD_PAGE = 200;
/** The most pages read of one thread (1,000 messages): a conversation that long is read no further. */
const THREAD_PAGES = 5;
/** A DM's or channel's last messages, where a notice or a status just posted is. */
const DM_PAGE = 50;
/** One page of a channel's messages since a moment, newest first. */
const SINCE_PAGE = 200;
/** The most pages read of a channel since a moment (2,000 messages): a channel that busy is read no further. */
const SINCE_PAGES = 10;

/**
 * The one reader of what Slack shows where a job posts, used by every retried step (a message's metadata, shared
 * files), by a native stream taken over from another worker and by the recovery of a stopped gateway's request. A
 * thread is read whole, oldest first, page by page (`response_metadata.next_cursor`), each message once; a DM's or
 * channel's last messages newest first, or a channel's messages since a moment (`findSince`). Slack's refusals and
 * network failures are thrown as the Web API client gives them (it has waited out 429s and retried 5xx already):
 * each caller says what a read that failed means for it.
 * @see https://docs.slack.dev/reference/methods/conversations.replies
 * @see https://docs.slack.dev/reference/methods/conversations.history
 * @see https://docs.slack.dev/apis/web-api/pagination
 */
export class SlackThreadReader {
  constructor(private readonly client: WebClient) {}

  /** The messages of `place`, with their metadata. */
  async read(place: SlackPlace): Promise<FoundMessage[]> {
    if (place.thread_ts) return this.thread(place.channel, place.thread_ts);
    const channel = place.dm
      ? (await this.client.conversations.open({ users: place.channel })).channel?.id
      : place.channel;
    if (!channel) return [];
    const page = await this.client.conversations.history({
      channel,
      include_all_metadata: true,
      limit: DM_PAGE,
    });
    return (page.messages ?? []) as FoundMessage[];
  }

  /**
   * The message of `place` that `match` picks, posted after `since` (ms): a thread is read whole, as `read` does;
   * a channel only from `since` on (`oldest`), newest first, page by page until the page that holds it, so that
   * a busy channel hides nothing posted since and nothing older is read.
   */
  async findSince(
    place: SlackPlace,
    since: number,
    match: (message: FoundMessage) => boolean,
  ): Promise<FoundMessage | undefined> {
    if (place.thread_ts || place.dm) return (await this.read(place)).find(match);
    let cursor: string | undefined;
    for (let pages = 0; pages < SINCE_PAGES; pages++) {
      const page = await this.client.conversations.history({
        channel: place.channel,
        oldest: (since / 1000).toFixed(6),
        include_all_metadata: true,
        limit: SINCE_PAGE,
        ...(cursor ? { cursor } : {}),
      });
      const found = ((page.messages ?? []) as FoundMessage[]).find(match);
      if (found) return found;
      cursor = page.response_metadata?.next_cursor || undefined;
      if (!cursor) return undefined;
    }
    return undefined;
  }

  private async thread(channel: string, ts: string): Promise<FoundMessage[]> {
    const messages = new Map<string, FoundMessage>();
    let cursor: string | undefined;
    for (let pages = 0; pages < THREAD_PAGES; pages++) {
      const page = await this.client.conversations.replies({
        channel,
        ts,
        include_all_metadata: true,
        limit: THREAD_PAGE,
        ...(cursor ? { cursor } : {}),
      });
      // Each message once, whatever a page repeats (the thread's parent, a message posted while reading).
      for (const message of (page.messages ?? []) as FoundMessage[])
        if (message.ts && !messages.has(message.ts)) messages.set(message.ts, message);
      cursor = page.response_metadata?.next_cursor || undefined;
      if (!cursor) break;
    }
    return [...messages.values()];
  }
}
