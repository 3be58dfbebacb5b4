import { downloadErrorFromResponse } from './download-error.js';
import { parseErrorBody } from './error-body.js';
import { classifyRefusal, refusalError } from './model-refusal.js';
import { classifySourceRefusal, sourceRefusalMessage } from './source-refusal.js';
import { type CallKind, TogetherError, type TogetherErrorCode } from './together-error.js';

const WHAT: Record<CallKind, string> = {
  image: 'image generation',
  chat: 'answer',
  stream: 'answer',
  download: 'image download',
};

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

  const said = body.message ? ` (Together answered: ${body.message})` : '';
  const source = kind === 'image' ? classifySourceRefusal(status, body) : undefined;
  if (source) {
    const { userMessage, fix } = sourceRefusalMessage(source, { model, said });
    return new TogetherError({
      ...base,
      code: source.code,
      userMessage,
      logMessage: `${logMessage} [${fix}]`,
    });
  }
  const refusal = classifyRefusal({ kind, status, body, model });
  if (refusal) {
    const { userMessage, fix } = refusalError(refusal, { kind, model, setting, said });
    return new TogetherError({ ...base, code: refusal, userMessage, logMessage: `${logMessage} [${fix}]` });
  }
  const rateLimited = status === 429 || (status === 400 && body.code === 'rate_limit');
  const known = STATUS_ERRORS[rateLimited ? 429 : status];
  const { logNote, ...meaning }: StatusMeaning = known
    ? known({ kind, status, what, providerText })
    : status >= 500
      ? {
          code: 'server_error',
          userMessage: `Together had a server error (HTTP ${status}) on the ${what}. Try again shortly.`,
        }
      : { code: 'bad_request', userMessage: `Together rejected the request (HTTP ${status})${providerText}` };
  return new TogetherError({
    ...base,
    ...meaning,
    ...(logNote ? { logMessage: `${logMessage} [${logNote}]` } : {}),
  });
}

/** What a status means, for one call. */
interface StatusContext {
  kind: CallKind;
  status: number;
  /** The call in words: "image generation", "answer", "image download". */
  what: string;
  /** `: <Together's message>`, or empty. */
  providerText: string;
}

interface StatusMeaning {
  code: TogetherErrorCode;
  userMessage: string;
  /** Added to the log line: what an operator should check. */
  logNote?: string;
  mayBeBilled?: boolean;
}

/** The statuses with a meaning of their own; other 5xx are server errors, other 4xx bad requests. */
const STATUS_ERRORS: Partial<Record<number, (context: StatusContext) => StatusMeaning>> = {
  429: ({ what }) => ({
    code: 'rate_limited',
    userMessage: `Together is rate-limiting this bot right now, so the ${what} could not run. Try again in a minute.`,
  }),
  400: ({ providerText }) => ({
    code: 'bad_request',
    userMessage: `Together rejected the request${providerText}`,
  }),
  401: () => ({
    code: 'unauthorized',
    logNote: 'check TOGETHER_API_KEY',
    userMessage: "Together rejected the bot's API key. An operator needs to check TOGETHER_API_KEY.",
  }),
  402: () => ({
    code: 'payment_required',
    userMessage:
      'The Together account is out of credits or at its spending limit. An operator needs to add credits.',
  }),
  403: ({ kind, providerText }) => ({
    code: 'forbidden',
    userMessage:
      kind === 'image'
        ? `Together refused the request${providerText}`
        : `The question plus the answer length is over the model's context length${providerText}. Ask a shorter question, or an operator can lower max_tokens.`,
  }),
  408: ({ what }) => ({
    code: 'request_timeout',
    userMessage: `Together timed out on the ${what}. Try again.`,
  }),
  409: ({ what }) => ({
    code: 'conflict',
    userMessage: `Together reported a conflict on the ${what}. Try again.`,
  }),
  503: ({ what }) => ({
    code: 'overloaded',
    userMessage: `Together is overloaded (HTTP 503), so the ${what} could not run. Try again shortly.`,
  }),
  504: ({ kind, what }) => ({
    code: 'gateway_timeout',
    userMessage: `Together timed out (HTTP 504) on the ${what}. Try again shortly.`,
    mayBeBilled: kind === 'image',
  }),
};
