import type { Dispatcher } from 'undici';
import { type CallKind, TogetherError } from './together-error.js';

/** Reads a JSON body. For images a body that breaks off after a 200 means the work was done, and billed. */
export async function readJson(
  response: { body: Dispatcher.ResponseData['body']; requestId: string | undefined },
  kind: CallKind,
): Promise<unknown> {
  let text: string;
  try {
    text = await response.body.text();
  } catch (error) {
    throw new TogetherError({
      code: 'network',
      kind,
      phase: 'sent',
      status: 200,
      mayBeBilled: kind === 'image',
      ...(response.requestId ? { requestId: response.requestId } : {}),
      userMessage:
        kind === 'image'
          ? 'The connection to Together dropped while the images were arriving. The request was probably billed, so it was not retried automatically.'
          : 'The connection to Together dropped while the answer was arriving. Try again shortly.',
      logMessage: `Together ${kind} response body broke off`,
      cause: error,
    });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw invalidResponse(kind, 'Together sent a response that is not valid JSON', response.requestId, error);
  }
}

/** A 200 whose body the bot cannot use: the work was done (and, for images, billed). */
export function invalidResponse(
  kind: CallKind,
  message: string,
  requestId: string | undefined,
  cause?: unknown,
): TogetherError {
  return new TogetherError({
    code: 'invalid_response',
    kind,
    phase: 'response',
    // Only ever after a 200: the work was done.
    status: 200,
    mayBeBilled: kind === 'image',
    ...(requestId ? { requestId } : {}),
    userMessage: `Together sent a response the bot could not read (${message}).`,
    logMessage: `Together ${kind} response invalid: ${message}`,
    cause,
  });
}
