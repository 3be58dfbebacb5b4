import { WebClient } from '@slack/web-api';
import type { NamedImage } from '../../core/image-files.js';
import type {
  AnswerStreaming,
  Deliverer,
  JobStatus,
  JobView,
  Notice,
  SlackTarget,
  StepRunner,
  WatchDelivery,
} from '../../core/jobs.js';
import type { Logger } from '../../core/ports.js';
import { slackClientOptions } from './slack-client.js';
import { markdownToMrkdwn, noticeText, parentMessage, previewText, splitMessage } from './slack-format.js';
import { slackWatchDelivery } from './slack-watch.js';

/**
 * Delivers job results to Slack with the bot token: the parent's status by `chat.update`, images by the external
 * upload flow into the thread, answers and the completion notice by `chat.postMessage` in the thread. The
 * WebClient waits out 429s (`Retry-After`) and retries with backoff.
 */
export class SlackDeliverer implements Deliverer<SlackTarget> {
  readonly streaming?: AnswerStreaming<SlackTarget>;
  readonly watch: WatchDelivery<SlackTarget>;

  constructor(
    private readonly client: WebClient,
    /** Streamed answers: the least time between two edits of one message; undefined: no streaming. */
    editIntervalMs?: number,
  ) {
    this.watch = slackWatchDelivery(client);
    if (editIntervalMs !== undefined) {
      this.streaming = {
        editIntervalMs,
        open: async (target) => {
          const posted = await this.client.chat.postMessage({
            channel: target.channelId,
            thread_ts: target.parentTs,
            text: '▍',
          });
          return String(posted.ts);
        },
        preview: async (target, ts, partial) => {
          await this.client.chat.update({ channel: target.channelId, ts, text: previewText(partial) });
        },
      };
    }
  }

  /** @see https://docs.slack.dev/reference/methods/chat.update */
  async updateStatus(target: SlackTarget, view: JobView, status: JobStatus): Promise<void> {
    const message = parentMessage(target.userId, view, status);
    await this.client.chat.update({
      channel: target.channelId,
      ts: target.statusTs ?? target.parentTs,
      ...message,
    });
  }

  /** @see https://docs.slack.dev/reference/methods/files.completeUploadExternal */
  async postImages(target: SlackTarget, images: ReadonlyArray<NamedImage>): Promise<void> {
    await this.client.filesUploadV2({
      channel_id: target.channelId,
      thread_ts: target.parentTs,
      file_uploads: images.map((image, i) => ({
        file: Buffer.from(image.bytes),
        // Slack takes the file type from the name's extension.
        filename: image.fileName,
        title: images.length > 1 ? `Image ${i + 1} of ${images.length}` : 'Image',
      })),
    });
  }

  /** @see https://docs.slack.dev/reference/methods/chat.postMessage */
  async postAnswer(target: SlackTarget, text: string, steps: StepRunner, streamed?: string): Promise<void> {
    const pieces = splitMessage(markdownToMrkdwn(text));
    for (const [i, piece] of pieces.entries()) {
      await steps.once(`answer:${i + 1}/${pieces.length}`, async () => {
        if (i === 0 && streamed) {
          await this.client.chat.update({ channel: target.channelId, ts: streamed, text: piece });
          return;
        }
        await this.client.chat.postMessage({
          channel: target.channelId,
          thread_ts: target.parentTs,
          text: piece,
          unfurl_links: false,
          unfurl_media: false,
        });
      });
    }
  }

  /** In the thread, or as a DM from the app (`chat.postMessage` to a user id opens it). */
  async notify(target: SlackTarget, notice: Notice, via: 'thread' | 'dm'): Promise<void> {
    const text = noticeText(target.userId, notice);
    await this.client.chat.postMessage({
      ...(via === 'dm'
        ? { channel: target.userId, text: `${text} (in <#${target.channelId}>)` }
        : { channel: target.channelId, thread_ts: target.parentTs, text }),
      unfurl_links: false,
      unfurl_media: false,
    });
  }
}

export function createSlackDeliverer(
  botToken: string,
  apiUrl: string,
  logger: Logger,
  editIntervalMs?: number,
): SlackDeliverer {
  return new SlackDeliverer(new WebClient(botToken, slackClientOptions(apiUrl, logger)), editIntervalMs);
}
