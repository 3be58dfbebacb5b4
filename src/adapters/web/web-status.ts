import type { PostedStatus, StatusOrigin, StatusRecovery } from '../../core/intake.js';
import type { JobStatus, JobView, WebTarget } from '../../core/jobs.js';
import type { WebDeliverer, WebEventSink } from './web-deliverer.js';

/** A web job's target and conversation: the request's message in the page. */
export function webPosted(target: WebTarget): PostedStatus {
  return { target, conversationKey: `web:${target.messageId}`, aliases: [] };
}

/**
 * A worker's recovery of a web job whose gateway stopped before queueing it: the status is an event that sets the
 * request's message in the page, so sending it again shows one status.
 */
export class WebStatusRecovery implements StatusRecovery {
  constructor(
    private readonly deliverer: WebDeliverer,
    private readonly sink: WebEventSink,
  ) {}

  async post(origin: StatusOrigin, view: JobView, status: JobStatus): Promise<PostedStatus> {
    if (origin.platform !== 'web') throw new Error(`not a web origin: ${origin.platform}`);
    await this.deliverer.updateStatus(origin, view, status);
    return webPosted(origin);
  }

  /** A private note under the request's message, as the web platform tells. */
  async tell(origin: StatusOrigin, text: string): Promise<void> {
    if (origin.platform !== 'web') return;
    const note = { type: 'private', messageId: `${origin.messageId}:note`, text } as const;
    await this.sink.append(origin.sessionId, note).catch(() => undefined);
  }
}
