import { WebClient } from '@slack/web-api';
import type { NamedImage } from '../../core/image-files.js';
import type {
  AnswerStreaming,
  Deliverer,
  EndedJob,
  FinalAnswer,
  JobStatus,
  JobView,
  Notice,
  SlackTarget,
  StepPost,
  StepRunner,
  WatchDelivery,
} from '../../core/jobs.js';
import type { Logger } from '../../core/ports.js';
import { assistantStatusText, setAssistantStatus } from './slack-assistant-status.js';
import { slackClientOptions } from './slack-client.js';
import { answerFooter } from './slack-feedback.js';
import {
  markdownToMrkdwn,
  noticeText,
  parentMessage,
  previewText,
  SECTION_TEXT_LIMIT,
  splitMessage,
} from './slack-format.js';
import { SlackStepPosts } from './slack-step-posts.js';
import { APPEND_INTERVAL_MS, isNativeStream, type SlackBlock, SlackStreams } from './slack-stream.js';
import { SlackThreadReader } from './slack-thread.js';

/** A job that ended, with the first of its images Slack holds (a Home tab thumbnail), if it had any. */
export type SlackEndedJob = EndedJob & { thumbnailFileId?: string };

export interface SlackDelivererHooks {
  /** Once per job, when it has ended (the Home tab keeps the person's last jobs). */
  jobEnded?(target: SlackTarget, ended: SlackEndedJob): Promise<void>;
}

/** How many uploaded images' file ids are kept for thumbnails until their job ends. */
const THUMBNAILS_KEPT = 1000;

import { slackWatchDelivery } from './slack-watch.js';

/**
 * Delivers job results to Slack with the bot token: the parent's status by `chat.update`, images by the external
 * upload flow into the thread, answers and the completion notice by `chat.postMessage` in the thread. Answers
 * stream natively (`SlackStreams`) where the workspace and channel allow it, else by editing one message; either
 * way the finished answer ends with its cost and 👍/👎. The WebClient waits out 429s (`Retry-After`) and retries
 * with backoff.
 */
export class SlackDeliverer implements Deliverer<SlackTarget> {
  readonly streaming?: AnswerStreaming<SlackTarget>;
  private readonly streams: SlackStreams;
  private readonly posts: SlackStepPosts;
  /** `channel:thread` → the file id of a job's first image, until the job ends. */
  private readonly thumbnails = new Map<string, string>();
  readonly watch: WatchDelivery<SlackTarget>;

  constructor(
    private readonly client: WebClient,
    /** Streamed answers: the least time between two edits of one message; undefined: no streaming. */
    editIntervalMs?: number,
    private readonly hooks: SlackDelivererHooks = {},
  ) {
    // One reader of the job's thread for every retried step and the stream taken over from another worker.
    const thread = new SlackThreadReader(client);
    this.streams = new SlackStreams(client, thread);
    this.posts = new SlackStepPosts(client, thread);
    this.watch = slackWatchDelivery(client);
    if (editIntervalMs !== undefined) {
      this.streaming = {
        editIntervalMs,
        open: async (target, post) =>
          (await this.streams.start(target, post)) ?? this.openEdited(target, post),
        preview: async (target, id, partial) => {
          if (isNativeStream(id)) return this.streams.append(target, id, partial);
          await this.client.chat.update({ channel: target.channelId, ts: id, text: previewText(partial) });
        },
        intervalFor: (id) =>
          isNativeStream(id) ? Math.max(APPEND_INTERVAL_MS, editIntervalMs) : editIntervalMs,
      };
    }
  }

  /** The edit loop's message: a thread reply with a cursor, edited as the answer grows. */
  private async openEdited(target: SlackTarget, post: StepPost): Promise<string> {
    return this.posts.postMessage(post, { channel: target.channelId, thread_ts: target.parentTs, text: '▍' });
  }

  /** @see https://docs.slack.dev/reference/methods/chat.update */
  async updateStatus(target: SlackTarget, view: JobView, status: JobStatus): Promise<void> {
    const message = parentMessage(target.userId, view, status);
    await this.client.chat.update({
      channel: target.channelId,
      ts: target.statusTs ?? target.parentTs,
      ...message,
    });
    if (target.assistant) await setAssistantStatus(this.client, target, assistantStatusText(view, status));
  }

  /** @see https://docs.slack.dev/reference/methods/files.completeUploadExternal */
  async postImages(target: SlackTarget, images: ReadonlyArray<NamedImage>, post: StepPost): Promise<void> {
    const files = images.map((image, i) => ({
      bytes: image.bytes,
      // Slack takes the file type from the name's extension.
      filename: image.fileName,
      title: images.length > 1 ? `Image ${i + 1} of ${images.length}` : 'Image',
    }));
    const [first] = await this.posts.upload(
      post,
      { channel: target.channelId, thread_ts: target.parentTs },
      files,
    );
    if (first) {
      if (this.thumbnails.size >= THUMBNAILS_KEPT)
        this.thumbnails.delete(this.thumbnails.keys().next().value!);
      this.thumbnails.set(`${target.channelId}:${target.parentTs}`, first);
    }
  }

  /** @see https://docs.slack.dev/reference/methods/chat.postMessage */
  async postAnswer(target: SlackTarget, text: string, steps: StepRunner, streamed?: string): Promise<void> {
    await this.deliver(target, { text, steps, ...(streamed ? { streamed } : {}) });
  }

  /** The answer, then its cost and 👍/👎 at the end of its last message. */
  async postFinalAnswer(target: SlackTarget, answer: FinalAnswer): Promise<void> {
    await this.deliver(target, { ...answer, footer: answerFooter(answer.jobId, answer.costText) });
  }

  /**
   * A native stream is stopped with what of the answer it can still hold (a journaled step, whose value is what
   * is left); the rest, or a whole answer that did not stream natively, goes in messages: the first replaces an
   * edited message's text, each piece its own step, the footer on the last.
   */
  private async deliver(
    target: SlackTarget,
    answer: { text: string; steps: StepRunner; streamed?: string; footer?: SlackBlock[] },
  ): Promise<void> {
    const { steps, streamed, footer } = answer;
    let rest = answer.text;
    let edited = streamed;
    if (isNativeStream(streamed)) {
      edited = undefined;
      rest = await steps.value('answer:stream-stop', async (post) => {
        const end = await this.streams.stop(
          target,
          streamed,
          { text: answer.text, footer: footer ?? [] },
          post.retry,
        );
        return end.rest;
      });
      if (!rest) return;
    }
    const pieces = splitMessage(markdownToMrkdwn(rest), footer ? SECTION_TEXT_LIMIT : undefined);
    for (const [i, piece] of pieces.entries()) {
      const blocks =
        footer && i === pieces.length - 1
          ? { blocks: [{ type: 'section', text: { type: 'mrkdwn', text: piece } }, ...footer] }
          : {};
      await steps.once(`answer:${i + 1}/${pieces.length}`, async (post) => {
        if (i === 0 && edited) {
          await this.client.chat.update({ channel: target.channelId, ts: edited, text: piece, ...blocks });
          return;
        }
        await this.posts.postMessage(post, {
          channel: target.channelId,
          thread_ts: target.parentTs,
          text: piece,
          ...blocks,
          unfurl_links: false,
          unfurl_media: false,
        });
      });
    }
  }

  /** In the thread, or as a DM from the app (`chat.postMessage` to a user id opens it). */
  async notify(target: SlackTarget, notice: Notice, via: 'thread' | 'dm', post: StepPost): Promise<void> {
    const text = noticeText(target.userId, notice);
    await this.posts.postMessage(post, {
      ...(via === 'dm'
        ? { channel: target.userId, dm: true, text: `${text} (in <#${target.channelId}>)` }
        : { channel: target.channelId, thread_ts: target.parentTs, text }),
      unfurl_links: false,
      unfurl_media: false,
    });
  }

  /** Hands the job, with its thumbnail, to the hooks (the Home tab). */
  async jobEnded(target: SlackTarget, ended: EndedJob): Promise<void> {
    const key = `${target.channelId}:${target.parentTs}`;
    const thumbnailFileId = this.thumbnails.get(key);
    this.thumbnails.delete(key);
    await this.hooks.jobEnded?.(target, { ...ended, ...(thumbnailFileId ? { thumbnailFileId } : {}) });
  }
}

export function createSlackDeliverer(
  botToken: string,
  apiUrl: string,
  logger: Logger,
  options: { editIntervalMs?: number | undefined; hooks?: SlackDelivererHooks } = {},
): SlackDeliverer {
  return new SlackDeliverer(
    new WebClient(botToken, slackClientOptions(apiUrl, logger)),
    options.editIntervalMs,
    options.hooks,
  );
}

/** A Web API client for this bot token, set up as the deliverer's. */
export function createSlackClient(botToken: string, apiUrl: string, logger: Logger): WebClient {
  return new WebClient(botToken, slackClientOptions(apiUrl, logger));
}
