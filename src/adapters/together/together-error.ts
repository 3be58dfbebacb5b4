import { LorabotError } from '../../core/lorabot-error.js';

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
  | 'not_configured';

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

  /**
   * Whether the whole job may be tried again later (after the client's own retries gave up): a passing overload,
   * rate limit or outage, and never work that may already be billed.
   */
  get retryLater(): boolean {
    if (this.mayBeBilled) return false;
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
  }
}

/** The parts of Together's `ErrorData` body we use; every field may be missing in odd bodies (HTML, text). */
export interface ProviderErrorBody {
  message: string | undefined;
  type: string | undefined;
  code: string | undefined;
}

/** Reads `{"error":{"message","type","code"}}`, other JSON, plain text or HTML into one shape. */
export function parseErrorBody(text: string): ProviderErrorBody {
  try {
    const json: unknown = JSON.parse(text);
    if (json && typeof json === 'object') {
      const root = json as Record<string, unknown>;
      const inner = (typeof root.error === 'object' && root.error !== null ? root.error : root) as Record<
        string,
        unknown
      >;
      const message =
        typeof inner.message === 'string'
          ? inner.message
          : typeof root.error === 'string'
            ? root.error
            : undefined;
      const code = inner.code ?? root.error_type;
      return {
        message,
        type: typeof inner.type === 'string' ? inner.type : undefined,
        code: typeof code === 'string' ? code : undefined,
      };
    }
  } catch {
    // Not JSON: a proxy's HTML or a plain-text 503.
  }
  const plain = text
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return { message: plain ? plain.slice(0, 300) : undefined, type: undefined, code: undefined };
}

const WHAT: Record<CallKind, string> = {
  image: 'image generation',
  chat: 'answer',
  stream: 'answer',
  download: 'image download',
};

/** Maps an HTTP error response to the right error, keeping the request id (one factory for every call). */
export function togetherErrorFromResponse(input: {
  kind: CallKind;
  status: number;
  headers: Readonly<Record<string, string>>;
  bodyText: string;
  model?: string;
}): TogetherError {
  const { kind, status, headers, model } = input;
  const body = parseErrorBody(input.bodyText);
  const requestId = headers['x-request-id'] ?? headers['cf-ray'];
  const providerText = body.message ? `: ${body.message}` : '';
  const logMessage = `Together ${kind} request failed with HTTP ${status}${body.code ? ` (${body.code})` : ''}${providerText}`;
  const base = {
    kind,
    phase: 'response' as const,
    status,
    headers,
    logMessage,
    ...(requestId ? { requestId } : {}),
  };
  const what = WHAT[kind];
  const modelName = model ? ` \`${model}\`` : '';
  const settingKey = kind === 'image' ? 'image.model' : 'the chat model id in chat.models';

  if (status === 429 || (status === 400 && body.code === 'rate_limit')) {
    return new TogetherError({
      ...base,
      code: 'rate_limited',
      userMessage: `Together is rate-limiting this bot right now, so the ${what} could not run. Try again in a minute.`,
    });
  }
  switch (status) {
    case 400:
      if (
        /model/i.test(body.message ?? '') &&
        /(not (found|available|supported)|deprecat|invalid|unable to access)/i.test(body.message ?? '')
      ) {
        return new TogetherError({
          ...base,
          code: 'bad_request',
          userMessage: `Together cannot run the model${modelName}${providerText}. Model deprecated or unavailable: an operator needs to set ${settingKey} in the config.`,
        });
      }
      return new TogetherError({
        ...base,
        code: 'bad_request',
        userMessage: `Together rejected the request${providerText}`,
      });
    case 401:
      return new TogetherError({
        ...base,
        code: 'unauthorized',
        userMessage: "Together rejected the bot's API key. An operator needs to check TOGETHER_API_KEY.",
      });
    case 402:
      return new TogetherError({
        ...base,
        code: 'payment_required',
        userMessage:
          'The Together account is out of credits or at its spending limit. An operator needs to add credits.',
      });
    case 403:
      return new TogetherError({
        ...base,
        code: 'forbidden',
        userMessage:
          kind === 'image'
            ? `Together refused the request${providerText}`
            : `The question plus the answer length is over the model's context length${providerText}. Ask a shorter question, or an operator can lower max_tokens.`,
      });
    case 404:
      return new TogetherError({
        ...base,
        code: 'not_found',
        userMessage: `Together does not know the model${modelName} (it may be deprecated or removed). Model deprecated: an operator needs to set ${settingKey} in the config.`,
      });
    case 408:
      return new TogetherError({
        ...base,
        code: 'request_timeout',
        userMessage: `Together timed out on the ${what}. Try again.`,
      });
    case 409:
      return new TogetherError({
        ...base,
        code: 'conflict',
        userMessage: `Together reported a conflict on the ${what}. Try again.`,
      });
    case 503:
      return new TogetherError({
        ...base,
        code: 'overloaded',
        userMessage: `Together is overloaded (HTTP 503), so the ${what} could not run. Try again shortly.`,
      });
    case 504:
      return new TogetherError({
        ...base,
        code: 'gateway_timeout',
        userMessage: `Together timed out (HTTP 504) on the ${what}. Try again shortly.`,
        mayBeBilled: kind === 'image',
      });
  }
  if (status >= 500) {
    return new TogetherError({
      ...base,
      code: 'server_error',
      userMessage: `Together had a server error (HTTP ${status}) on the ${what}. Try again shortly.`,
    });
  }
  return new TogetherError({
    ...base,
    code: 'bad_request',
    userMessage: `Together rejected the request (HTTP ${status})${providerText}`,
  });
}

/** Network error codes that mean the request never reached Together (safe to send again). */
const CONNECT_PHASE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
]);

export function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Maps a failure with no HTTP response. A connect-phase failure means Together never saw the request; anything
 * later (reset, closed socket, timeout waiting for headers) may have left an image generation running, and billed.
 */
export function togetherErrorFromNetwork(input: {
  kind: CallKind;
  error: unknown;
  timedOut: boolean;
  timeoutMs: number;
}): TogetherError {
  const { kind, error } = input;
  const code = errorCode(error);
  const timedOut = input.timedOut || code === 'UND_ERR_HEADERS_TIMEOUT';
  const connectPhase = code !== undefined && CONNECT_PHASE_CODES.has(code);
  const sentMayBill = !connectPhase && kind === 'image';
  const billNote = sentMayBill
    ? ' The request may have been billed, so it was not retried automatically.'
    : '';
  const detail = `${code ?? (error instanceof Error ? error.name : 'error')}`;
  if (timedOut) {
    return new TogetherError({
      code: 'timeout',
      kind,
      phase: 'sent',
      mayBeBilled: sentMayBill,
      logMessage: `Together ${kind} request timed out after ${input.timeoutMs} ms (${detail})`,
      userMessage: `Together did not answer within ${Math.round(input.timeoutMs / 1000)} s.${billNote || ' Try again shortly.'}`,
      cause: error,
    });
  }
  return new TogetherError({
    code: 'network',
    kind,
    phase: connectPhase ? 'connect' : 'sent',
    mayBeBilled: sentMayBill,
    logMessage: `Together ${kind} request failed before a response (${detail}${connectPhase ? ', connect phase' : ''})`,
    userMessage: connectPhase
      ? 'Could not reach Together. Try again shortly.'
      : `The connection to Together dropped before it answered.${billNote || ' Try again shortly.'}`,
    cause: error,
  });
}

/** undici headers (string or string[]) as one lower-case string map. */
export function flattenHeaders(
  headers: Record<string, string | string[] | undefined>,
): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}
