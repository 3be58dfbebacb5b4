import type {
  ChatPlatform,
  ConfirmationEnd,
  Editor,
  InboundEvent,
  InboundInput,
  PostedStatus,
} from '../../app/chat-platform.js';
import type { Place } from '../../core/access.js';
import type { WatchView } from '../../core/finetune.js';
import type { DeliveryTarget, JobStatus, JobView, ListedJob, WebTarget } from '../../core/jobs.js';
import type { SourceImage } from '../../core/requests.js';
import { WebDeliverer, type WebEventSink } from './web-deliverer.js';
import type { WebActionName, WebButton } from './web-protocol.js';
import { webPosted } from './web-status.js';

/** The browser session a request came from, as the port needs it. */
export interface WebRequester {
  userId: string;
  /** The session's event stream: what this browser sees. */
  streamId: string;
}

/**
 * A request from the page: a typed line (with the uploads sent with it, as the gateway read them), a button
 * pressed on a message, or an editor's form sent.
 */
export type WebRequest = { requestId: string } & (
  | { text: string; images?: SourceImage[] }
  | { action: WebActionName; id: string }
  | { draftId: string; text: string }
);

/** The web has one place: every request from the page is in the `web` workspace and channel. */
const WEB_PLACE: Place = { platform: 'web', channelId: 'web' };

/**
 * Translates a request from the page into the platform-neutral event the inbound service takes. The page's
 * request id is the event's, so a command sent twice (a double click, a retried POST) is queued once.
 */
export function webInboundEvent(
  request: WebRequest,
  session: WebRequester,
  receivedAt: number,
): InboundEvent {
  const input: InboundInput =
    'draftId' in request
      ? { type: 'edit', draftId: request.draftId, text: request.text }
      : 'text' in request
        ? { type: 'line', text: request.text, ...(request.images ? { images: request.images } : {}) }
        : { type: 'press', action: request.action, id: request.id };
  return {
    requester: { platform: 'web', workspaceId: 'web', channelId: 'web', userId: session.userId },
    place: WEB_PLACE,
    requestId: request.requestId,
    receivedAt,
    entry: 'web',
    input,
  };
}

/**
 * The inbound port for one request from the page. Everything goes to the session's event stream (in Redis), which
 * the gateway relays to the browser: a private answer is an event only this session sees; a job's status is the
 * same event the worker later updates. Messages in the page are keyed by id: a job's status is the request's own
 * id, a private answer beside it `<request id>:note`, and a confirmation is replaced where it was asked.
 */
export class WebPlatform implements ChatPlatform {
  private readonly deliverer: WebDeliverer;

  constructor(
    private readonly sink: WebEventSink,
    private readonly session: WebRequester,
    private readonly request: WebRequest,
  ) {
    this.deliverer = new WebDeliverer(sink);
  }

  async ack(): Promise<void> {
    // The page's POST is answered once the request is handled: there is no deadline to meet first.
  }

  async tell(text: string): Promise<void> {
    await this.private(`${this.request.requestId}:note`, text);
  }

  async askToConfirm(question: string, command: string, pendingId: string): Promise<void> {
    await this.private(pendingId, `${question}\n${command}`, [
      { action: 'run', id: pendingId, label: 'Run', style: 'primary' },
      { action: 'dismiss', id: pendingId, label: 'Cancel' },
    ]);
  }

  /** Replaces the question (asked under its pending id) with how it ended, without its buttons. */
  async closeConfirmation(_end: ConfirmationEnd, text: string): Promise<void> {
    const asked = 'id' in this.request ? this.request.id : this.request.requestId;
    await this.private(asked, text);
  }

  /** A form only this session sees, as a new message under the press's id. */
  async openEditor(editor: Editor): Promise<void> {
    await this.sink
      .append(this.session.streamId, { type: 'editor', messageId: this.request.requestId, ...editor })
      .catch(() => undefined);
  }

  /** A watch's status: the text of a new message on the page, kept current by the poller. */
  async postWatch(view: WatchView): Promise<DeliveryTarget> {
    const target = this.target();
    await this.deliverer.watch.show(target, view);
    return target;
  }

  async postStatus(view: JobView, status: JobStatus): Promise<PostedStatus> {
    const target = this.target();
    await this.deliverer.updateStatus(target, view, status);
    return webPosted(target);
  }

  /** The status is an event that sets this request's message: the same event however often it is sent. */
  statusOrigin(): WebTarget {
    return this.target();
  }

  /** This request's message in this session's page. */
  private target(): WebTarget {
    return {
      platform: 'web',
      sessionId: this.session.streamId,
      userId: this.session.userId,
      channelId: 'web',
      messageId: this.request.requestId,
    };
  }

  async updateStatus(target: DeliveryTarget, view: JobView, status: JobStatus): Promise<void> {
    if (target.platform !== 'web') return;
    await this.deliverer.updateStatus(target, view, status);
  }

  async showJobs(jobs: readonly ListedJob[], lines: readonly string[]): Promise<void> {
    const buttons = jobs.map(
      (job, i): WebButton => ({ action: 'cancel', id: job.jobId, label: `Cancel ${i + 1}`, style: 'danger' }),
    );
    const numbered = lines.map((line, i) => `${i + 1}. ${line}`);
    await this.private(`${this.request.requestId}:note`, `Your jobs\n${numbered.join('\n')}`, buttons);
  }

  /** Never throws (the port's rule): a stream that cannot be written is the relay's problem, logged there. */
  private async private(messageId: string, text: string, buttons?: WebButton[]): Promise<void> {
    await this.sink
      .append(this.session.streamId, { type: 'private', messageId, text, ...(buttons ? { buttons } : {}) })
      .catch(() => undefined);
  }
}
