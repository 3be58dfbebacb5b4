import { watchStatusText } from '../../core/finetune.js';
import type { NamedImage } from '../../core/image-files.js';
import type {
  AnswerStreaming,
  Deliverer,
  JobStatus,
  JobView,
  Notice,
  StepRunner,
  WatchDelivery,
  WebTarget,
} from '../../core/jobs.js';
import { statusActions } from '../../core/status-actions.js';
import type { WebButton, WebEvent } from './web-protocol.js';

/** Where the web deliverer writes: a session's event stream and the image store (Redis, in src/queue). */
export interface WebEventSink {
  append(sessionId: string, event: WebEvent): Promise<void>;
  putImage(messageId: string, index: number, image: { bytes: Uint8Array; mimeType: string }): Promise<void>;
}

/** The page shows each change at once; a quarter second keeps a fast stream from flooding the event log. */
const WEB_EDIT_INTERVAL_MS = 250;

/** The URL the gateway serves a web message's image at. */
export function webImageUrl(messageId: string, index: number): string {
  return `/api/images/${encodeURIComponent(messageId)}/${index}`;
}

/** The buttons a job's message offers (which ones: `statusActions`, as on Slack and Discord). */
export function statusButtons(view: JobView, status: JobStatus): WebButton[] {
  return statusActions(view, status).map((a) => ({ ...a, id: view.jobId }));
}

/**
 * Delivers jobs to the web playground. The worker may run in another process than the gateway the browser is
 * connected to, so nothing is sent directly: each change becomes an event on the session's stream in Redis, which
 * the gateway relays by Server-Sent Events. Images are kept under their own keys and referred to by URL.
 */
export class WebDeliverer implements Deliverer<WebTarget> {
  readonly streaming: AnswerStreaming<WebTarget>;

  constructor(private readonly sink: WebEventSink) {
    this.streaming = {
      editIntervalMs: WEB_EDIT_INTERVAL_MS,
      // An empty preview: the page shows the cursor at once, as Slack and Discord show a message holding it.
      open: async (target) => {
        await this.send(target, { type: 'preview', messageId: target.messageId, text: '' });
        return target.messageId;
      },
      preview: (target, messageId, partial) =>
        this.send(target, { type: 'preview', messageId, text: partial }),
    };
  }

  /**
   * `/ask watch` in the playground: the status is the message's text, replaced at each look; the end is its
   * notice. The web has one person per session and no admins, so there is no Watch or Add as model button.
   */
  readonly watch: WatchDelivery<WebTarget> = {
    show: (target, view) =>
      this.send(target, {
        type: 'answer',
        messageId: target.messageId,
        text: watchStatusText(view.snapshot, view.watchers),
      }),
    announce: (target, notice) =>
      this.send(target, {
        type: 'notice',
        messageId: target.messageId,
        ok: notice.end === 'completed',
        text: notice.text,
      }),
  };

  async updateStatus(target: WebTarget, view: JobView, status: JobStatus): Promise<void> {
    await this.send(target, {
      type: 'status',
      messageId: target.messageId,
      jobId: view.jobId,
      kind: view.kind,
      command: view.command,
      ...(view.context ? { context: view.context } : {}),
      status,
      buttons: statusButtons(view, status),
    });
  }

  async postImages(target: WebTarget, images: ReadonlyArray<NamedImage>): Promise<void> {
    await Promise.all(images.map((image, i) => this.sink.putImage(target.messageId, i, image)));
    await this.send(target, {
      type: 'images',
      messageId: target.messageId,
      images: images.map((image, i) => ({
        url: webImageUrl(target.messageId, i),
        fileName: image.fileName,
        mimeType: image.mimeType,
      })),
    });
  }

  /** The page has no message length limit, so the answer is one event, whether or not it was streamed. */
  async postAnswer(target: WebTarget, text: string, steps: StepRunner): Promise<void> {
    await steps.once('answer:web', () =>
      this.send(target, { type: 'answer', messageId: target.messageId, text }),
    );
  }

  /** The page has no threads or DMs: the notice is shown under the message either way. */
  async notify(target: WebTarget, notice: Notice): Promise<void> {
    await this.send(target, {
      type: 'notice',
      messageId: target.messageId,
      ok: notice.ok,
      text: notice.text,
    });
  }

  private send(target: WebTarget, event: WebEvent): Promise<void> {
    return this.sink.append(target.sessionId, event);
  }
}
