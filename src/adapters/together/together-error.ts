import { LorabotError } from '../../core/lorabot-error.js';
import type { ChatUsage } from '../../core/ports.js';

/** What went wrong talking to Together, as a closed set the retry policy and the worker can branch on. */
export type TogetherErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'payment_required'
  | 'forbidden'
  | 'not_found'
  | 'request_timeout'
  | 'conflict'
  | 'rate_limited'
  | 'server_error'
  | 'overloaded'
  | 'gateway_timeout'
  | 'network'
  | 'timeout'
  | 'stream_error'
  | 'invalid_response'
  | 'aborted'
  | 'not_configured'
  /** The image model refuses `image_loras` (serverless FLUX.2, as some of Together's pages say). */
  | 'loras_not_supported'
  /** 403 `third_party_data_sharing_blocked`: the Together organization has not allowed passthrough models. */
  | 'data_sharing_blocked'
  /** The model is deprecated, removed, or no longer served without a dedicated endpoint. */
  | 'model_unavailable'
  /** An image Together made could not be fetched from its CDN. */
  | 'download_failed'
  /** Together could not use a source image (`--image`): unreadable, not an image, or too large. */
  | 'source_image_rejected'
  /** The edit model does not take source images the way `image.edit.input` sends them. */
  | 'source_input_unsupported';

/**
 * Failures only an operator can fix (a key, a config value, an organization setting, credits): never retried, not
 * by the client and not by the queue, since every attempt would fail the same way.
 */
const PERMANENT_CODES: ReadonlySet<TogetherErrorCode> = new Set<TogetherErrorCode>([
  'not_configured',
  'unauthorized',
  'payment_required',
  'loras_not_supported',
  'data_sharing_blocked',
  'model_unavailable',
  'source_input_unsupported',
]);

/** Which kind of call failed: it decides wording and whether a retry may bill twice. */
export type CallKind = 'image' | 'chat' | 'stream' | 'download';

/** How far the call got: `connect` (Together never saw it), `sent` (no answer), `response` (an HTTP error). */
export type CallPhase = 'connect' | 'sent' | 'response';

export interface TogetherErrorInit {
  code: TogetherErrorCode;
  kind: CallKind;
  phase: CallPhase;
  userMessage: string;
  logMessage: string;
  status?: number;
  requestId?: string;
  /** Whether the server may have done (and billed) the work although we got no answer. */
  mayBeBilled?: boolean;
  /** Retry hints the server sent, already parsed. */
  headers?: Readonly<Record<string, string>>;
  /** For a stream that failed partway: the text that had arrived. */
  partialText?: string;
  /** For a stream that failed partway: the token counts, if Together had sent them. */
  partialUsage?: ChatUsage | undefined;
  cause?: unknown;
}

/**
 * An error from Together or from the way to it. `userMessage` is safe for chat; `message` is the log text and
 * never contains the API key.
 */
export class TogetherError extends LorabotError<TogetherErrorCode> {
  readonly kind: CallKind;
  readonly phase: CallPhase;
  readonly status: number | undefined;
  readonly requestId: string | undefined;
  readonly mayBeBilled: boolean;

  /** Together answered 200 for an image, so the work was done and billed, though the result was unusable. */
  get billed(): boolean {
    return this.kind === 'image' && this.mayBeBilled && this.status === 200;
  }
  readonly headers: Readonly<Record<string, string>>;
  readonly partialText: string | undefined;
  readonly partialUsage: ChatUsage | undefined;

  /** Only an operator can fix this; see `PERMANENT_CODES`. */
  get permanent(): boolean {
    return PERMANENT_CODES.has(this.code);
  }

  /**
   * Whether the whole job may be tried again later (after the client's own retries gave up): a passing overload,
   * rate limit or outage, and never work that may already be billed.
   */
  get retryLater(): boolean {
    if (this.permanent || this.mayBeBilled) return false;
    if (this.phase === 'connect') return true;
    return [
      'rate_limited',
      'overloaded',
      'server_error',
      'gateway_timeout',
      'request_timeout',
      'conflict',
      'network',
      'timeout',
    ].includes(this.code);
  }

  constructor(init: TogetherErrorInit) {
    super({
      code: init.code,
      userMessage: init.userMessage,
      logMessage: init.logMessage,
      details: {
        status: init.status,
        requestId: init.requestId,
        kind: init.kind,
        mayBeBilled: init.mayBeBilled,
      },
      cause: init.cause,
    });
    this.kind = init.kind;
    this.phase = init.phase;
    this.status = init.status;
    this.requestId = init.requestId;
    this.mayBeBilled = init.mayBeBilled ?? false;
    this.headers = init.headers ?? {};
    this.partialText = init.partialText;
    this.partialUsage = init.partialUsage;
  }
}
