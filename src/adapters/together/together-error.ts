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
  | 'not_configured'
  /** The image model refuses `image_loras` (serverless FLUX.2, as some of Together's pages say). */
  | 'loras_not_supported'
  /** 403 `third_party_data_sharing_blocked`: the Together organization has not allowed passthrough models. */
  | 'data_sharing_blocked'
  /** The model is deprecated, removed, or no longer served without a dedicated endpoint. */
  | 'model_unavailable'
  /** An image Together made could not be fetched from its CDN. */
  | 'download_failed';

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
  }
}

/** The parts of Together's `ErrorData` body we use; every field may be missing in odd bodies (HTML, text). */
export interface ProviderErrorBody {
  message: string | undefined;
  type: string | undefined;
  code: string | undefined;
  param: string | undefined;
}

/** Reads `{"error":{"message","type","code","param"}}`, other JSON, plain text or HTML into one shape. */
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
        param: typeof inner.param === 'string' ? inner.param : undefined,
      };
    }
  } catch {
    // Not JSON: a proxy's HTML or a plain-text 503.
  }
  const plain = text
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return {
    message: plain ? plain.slice(0, 300) : undefined,
    type: undefined,
    code: undefined,
    param: undefined,
  };
}

const WHAT: Record<CallKind, string> = {
  image: 'image generation',
  chat: 'answer',
  stream: 'answer',
  download: 'image download',
};

/**
 * Together's refusals that name a LoRA, and the words that make one a refusal of LoRAs as such. A model id such
 * as `FLUX.1-dev-lora` does not count: "lora" right after `-`, `.` or `/` is part of a name.
 */
const NAMES_LORA = /image_loras|(?<![\w./-])loras?\b/i;
const REFUSES =
  /not (supported|allowed|available|enabled)|unsupported|does not (support|accept|take)|no longer|dedicated endpoint|reject/i;
/** Words that say a model is gone (deprecated, removed, dedicated-only). */
const GONE =
  /deprecat|not found|does not exist|no longer|not available|unable to access|decommission|retired/i;

/**
 * Which operator-fixable refusal a 4xx is, if any. Order matters: "Unable to access non-serverless model
 * …-lora" names a LoRA only through the model id, and a LoRA that failed to load is the requester's LoRA, not a
 * model that refuses LoRAs.
 */
export function classifyRefusal(input: {
  kind: CallKind;
  status: number;
  body: ProviderErrorBody;
  model?: string | undefined;
}): 'data_sharing_blocked' | 'model_unavailable' | 'loras_not_supported' | undefined {
  const { kind, status, body } = input;
  if (status < 400 || status >= 500 || status === 429) return undefined;
  const raw = body.message ?? '';
  const text = input.model ? raw.split(input.model).join('the model') : raw;
  if (body.code === 'third_party_data_sharing_blocked' || /third[- ]party data sharing/i.test(text)) {
    return 'data_sharing_blocked';
  }
  const namesLora = body.param === 'image_loras' || NAMES_LORA.test(text);
  if (body.code === 'model_not_available' || /non-serverless/i.test(text) || (status === 404 && !namesLora)) {
    return 'model_unavailable';
  }
  if (kind === 'image' && namesLora && REFUSES.test(text)) return 'loras_not_supported';
  if (!namesLora && /\bmodel\b/i.test(text) && GONE.test(text)) return 'model_unavailable';
  return undefined;
}

/**
 * The message for a model an operator has to change: what Together refused, and the way out, naming the config
 * key (`image.model`, `chat.models.<name>.id`). The log line names the key and the model id too.
 */
function refusalError(
  code: 'data_sharing_blocked' | 'model_unavailable' | 'loras_not_supported',
  context: { kind: CallKind; model: string | undefined; setting: string; said: string },
): { userMessage: string; fix: string } {
  const { setting, said } = context;
  const model = context.model ? `\`${context.model}\`` : 'the configured model';
  const noun = context.kind === 'image' ? 'image model' : 'chat model';
  switch (code) {
    case 'loras_not_supported':
      return {
        userMessage:
          `This image model (${model}) does not take LoRAs on Together${said}. ` +
          `Run the prompt without --lora, or an admin can set ${setting} to a LoRA-capable model, ` +
          'or to a dedicated endpoint that serves the model with LoRA adapters.',
        fix: `${setting} (${context.model ?? 'unset'}) does not take image_loras: choose a LoRA-capable model or a LoRA-enabled dedicated endpoint`,
      };
    case 'data_sharing_blocked':
      return {
        userMessage:
          `Together will not run the ${noun} ${model} for this account: it needs third-party data sharing, ` +
          'which this Together organization has turned off. An admin of the Together organization can turn on ' +
          '"Allow my organization to use passthrough models" under Privacy in the organization settings on ' +
          `api.together.ai, or a bot admin can set ${setting} to another model.`,
        fix: `${setting} (${context.model ?? 'unset'}) needs third-party data sharing: enable passthrough models in the Together organization's privacy settings, or change ${setting}`,
      };
    case 'model_unavailable':
      return {
        userMessage:
          `The ${noun} ${model} is no longer served by Together${said}. An admin can set ${setting} to a ` +
          'model Together serves now (see api.together.ai/models), or to a dedicated endpoint running it.',
        fix: `${setting} (${context.model ?? 'unset'}) is not served by Together: set ${setting} to a current model or a dedicated endpoint`,
      };
  }
}

/**
 * Maps an HTTP error response to the right error, keeping the request id (one factory for every call).
 * `modelSetting` is the config key that chose the model, named in messages that tell an admin what to change.
 */
export function togetherErrorFromResponse(input: {
  kind: CallKind;
  status: number;
  headers: Readonly<Record<string, string>>;
  bodyText: string;
  model?: string;
  modelSetting?: string;
}): TogetherError {
  const { kind, status, headers, model } = input;
  const body = parseErrorBody(input.bodyText);
  if (kind === 'download') return downloadErrorFromResponse(status, headers, body);
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
  const setting = input.modelSetting ?? (kind === 'image' ? 'image.model' : 'chat.models.<name>.id');

  const refusal = classifyRefusal({ kind, status, body, model });
  if (refusal) {
    const said = body.message ? ` (Together answered: ${body.message})` : '';
    const { userMessage, fix } = refusalError(refusal, { kind, model, setting, said });
    return new TogetherError({ ...base, code: refusal, userMessage, logMessage: `${logMessage} [${fix}]` });
  }
  if (status === 429 || (status === 400 && body.code === 'rate_limit')) {
    return new TogetherError({
      ...base,
      code: 'rate_limited',
      userMessage: `Together is rate-limiting this bot right now, so the ${what} could not run. Try again in a minute.`,
    });
  }
  switch (status) {
    case 400:
      return new TogetherError({
        ...base,
        code: 'bad_request',
        userMessage: `Together rejected the request${providerText}`,
      });
    case 401:
      return new TogetherError({
        ...base,
        code: 'unauthorized',
        logMessage: `${logMessage} [check TOGETHER_API_KEY]`,
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

/** Whether a network error code means the connection never opened (nothing was sent). */
export function isConnectPhaseCode(code: string | undefined): boolean {
  return code !== undefined && CONNECT_PHASE_CODES.has(code);
}

/** The first string `code` on an error or its causes (undici nests them). */
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
  const connectPhase = isConnectPhaseCode(code);
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

/** Why an image Together made could not be downloaded from its CDN. */
export type DownloadProblem =
  | 'link_refused'
  | 'server'
  | 'timeout'
  | 'unreachable'
  | 'broken'
  | 'too_large'
  | 'not_image'
  | 'bad_url';

/**
 * A failed download of an image Together made. It has its own wording: the generation worked (and was billed), so
 * neither the generation's nor the chat's messages fit. `detail` is for the log only.
 */
export function downloadError(input: {
  problem: DownloadProblem;
  detail: string;
  status?: number;
  headers?: Readonly<Record<string, string>>;
  timeoutMs?: number;
  maxBytes?: number;
  cause?: unknown;
}): TogetherError {
  const { problem, status } = input;
  // The phase drives the retry policy: a CDN never reached, or a download cut short, may be tried again.
  const phase: CallPhase =
    problem === 'unreachable'
      ? 'connect'
      : problem === 'broken' || problem === 'timeout'
        ? 'sent'
        : 'response';
  return new TogetherError({
    code: 'download_failed',
    kind: 'download',
    phase,
    ...(status !== undefined ? { status } : {}),
    ...(input.headers ? { headers: input.headers } : {}),
    userMessage: `Together made the image, but the bot could not download it: ${DOWNLOAD_TEXT[problem](input)}`,
    logMessage: `image download failed (${problem}): ${input.detail}`,
    cause: input.cause,
  });
}

const DOWNLOAD_TEXT: Record<
  DownloadProblem,
  (input: { status?: number; timeoutMs?: number; maxBytes?: number }) => string
> = {
  link_refused: ({ status }) =>
    `Together's image link no longer works (HTTP ${status}); its links expire after a short while. Try again. ` +
    'If it keeps happening, an admin can set image.response_format to base64 so images come inside the answer.',
  server: ({ status }) => `Together's image server answered HTTP ${status}. Try again shortly.`,
  timeout: ({ timeoutMs = 0 }) =>
    `the download took longer than ${timeoutMs < 1000 ? `${timeoutMs} ms` : `${Math.round(timeoutMs / 1000)} s`}. Try again shortly.`,
  unreachable: () => "Together's image server could not be reached. Try again shortly.",
  broken: () => 'the download broke off before the image was complete. Try again shortly.',
  too_large: ({ maxBytes = 0 }) =>
    `the image is larger than the bot's download limit of ${formatSize(maxBytes)} (together.download.max_bytes).`,
  not_image: () => 'the link returned something that is not a PNG, JPEG or WebP image.',
  bad_url: () => 'the link Together returned is not an https URL, so the bot did not fetch it.',
};

function formatSize(bytes: number): string {
  const mb = bytes / (1024 * 1024);
  return mb >= 1 ? `${Math.round(mb * 10) / 10} MB` : `${bytes} bytes`;
}

/** 403/404/410 from the CDN is an expired or revoked link; 5xx and 429 are the CDN's own trouble. */
function downloadErrorFromResponse(
  status: number,
  headers: Readonly<Record<string, string>>,
  body: ProviderErrorBody,
): TogetherError {
  const detail = `HTTP ${status}${body.message ? `: ${body.message}` : ''}`;
  const problem = status === 403 || status === 404 || status === 410 ? 'link_refused' : 'server';
  return downloadError({ problem, status, headers, detail });
}
