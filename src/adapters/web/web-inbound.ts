import type { Requester } from '../../core/budget.js';
import type { WebTarget } from '../../core/jobs.js';
import type { WebActionName, WebButton } from './web-protocol.js';

/**
 * A command or a button press from the page, in platform-neutral terms: who (the session's user, platform
 * `web`), what (the typed text, or an action on an id), and the page's request id, which makes a repeated POST
 * harmless.
 */
export type WebInboundEvent = {
  requester: Requester & { platform: 'web'; workspaceId: 'web'; channelId: 'web' };
  requestId: string;
} & ({ text: string } | { action: WebActionName; id: string });

/** How the inbound side answers one web event: the web's implementation of the per-event platform port. */
export interface WebPort {
  /** An answer only this browser session sees, under the message `requestId` (errors, help, confirmations). */
  tell(text: string, buttons?: WebButton[]): Promise<void>;
  /** Where a job queued for this event delivers: this session's stream, the message `requestId`. */
  target(): WebTarget;
}

/** The inbound service's entry point for the web: runs every rule once, answers through the port. */
export type InboundHandler = (event: WebInboundEvent, port: WebPort) => Promise<void>;
