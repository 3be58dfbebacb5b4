import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { Dispatcher } from 'undici';
import type { ChatResult, ChatUsage, FinishReason } from '../../core/ports.js';
import { normalizeFinishReason, readUsage } from './chat-response.js';
import { discard } from './image-download.js';
import { errorCode } from './network-error.js';
import { TogetherError } from './together-error.js';

/** One `data:` event of Together's chat stream. */
interface StreamChunk {
  error?: { message?: string } | string;
  usage?: unknown;
  choices?: Array<{ delta?: { content?: string | null }; finish_reason?: string | null }>;
}

/** The answer so far, as the events arrive. */
interface StreamState {
  text: string;
  usage: ChatUsage | undefined;
  finish: FinishReason | undefined;
  done: boolean;
  failure: TogetherError | undefined;
}

export interface ReadChatStreamOptions {
  /** The attempt's signal: when it aborts, its own error stands. */
  signal: AbortSignal;
  /** The longest silence undici allowed between two chunks, for the message when it passes. */
  idleMs: number;
  /** Called with each piece of text, in order. */
  onDelta?: ((text: string) => void) | undefined;
}

/**
 * Reads a 200 SSE response of `/chat/completions` with `stream: true` into the whole answer. Usage is taken from
 * whichever chunk carries it; an `{"error":…}` event inside the stream, a malformed event, silence, a dropped
 * connection or an end without `[DONE]` or a finish reason are `stream_error`s that keep the text so far.
 * @see https://docs.together.ai/docs/streaming-responses
 */
export async function readChatStream(
  response: { body: Dispatcher.ResponseData['body']; requestId: string | undefined },
  options: ReadChatStreamOptions,
): Promise<Omit<ChatResult, 'attempts'>> {
  const state: StreamState = {
    text: '',
    usage: undefined,
    finish: undefined,
    done: false,
    failure: undefined,
  };
  const fail = (message: string, cause?: unknown) =>
    streamError(message, { text: state.text, usage: state.usage }, response.requestId, cause);
  const parser = createParser({
    onEvent: (event) => onEvent(event, state, { fail, onDelta: options.onDelta }),
  });
  const decoder = new TextDecoder();
  try {
    for await (const piece of response.body) {
      parser.feed(decoder.decode(piece as Buffer, { stream: true }));
      if (state.failure || state.done) break;
    }
    parser.feed(decoder.decode());
  } catch (error) {
    if (options.signal.aborted) throw error;
    if (errorCode(error) === 'UND_ERR_BODY_TIMEOUT') {
      throw fail(`Together sent nothing for ${Math.round(options.idleMs / 1000)} s`, error);
    }
    throw fail(
      state.text ? 'the connection dropped' : 'the connection dropped before the first token',
      error,
    );
  } finally {
    discard(response.body);
  }
  if (state.failure) throw state.failure;
  if (state.finish === 'error') throw fail('Together ended the answer with an error');
  if (!state.done && state.finish === undefined)
    throw fail('the stream ended before the answer was complete');
  return {
    text: state.text,
    finishReason: state.finish ?? 'unknown',
    usage: state.usage,
    requestId: response.requestId,
  };
}

/** Applies one event to the state; the first failure, or `[DONE]`, ends the reading. */
function onEvent(
  event: EventSourceMessage,
  state: StreamState,
  handlers: {
    fail: (message: string, cause?: unknown) => TogetherError;
    onDelta?: ((text: string) => void) | undefined;
  },
): void {
  if (state.failure || state.done || event.event) return;
  const data = event.data.trim();
  if (/^\[DONE\]/i.test(data)) {
    state.done = true;
    return;
  }
  let chunk: StreamChunk;
  try {
    chunk = JSON.parse(data) as StreamChunk;
  } catch (error) {
    state.failure = handlers.fail('Together sent a malformed event', error);
    return;
  }
  if (chunk.error) {
    const message = typeof chunk.error === 'object' ? chunk.error.message : String(chunk.error);
    state.failure = handlers.fail(`Together reported an error (${message ?? 'no message'})`);
    return;
  }
  const usage = readUsage(chunk.usage);
  if (usage) state.usage = usage;
  const choice = chunk.choices?.[0];
  const delta = choice?.delta?.content;
  if (typeof delta === 'string' && delta.length > 0) {
    state.text += delta;
    handlers.onDelta?.(delta);
  }
  if (choice?.finish_reason !== undefined && choice.finish_reason !== null) {
    state.finish = normalizeFinishReason(choice.finish_reason);
  }
}

function streamError(
  message: string,
  partial: { text: string; usage: ChatUsage | undefined },
  requestId: string | undefined,
  cause?: unknown,
): TogetherError {
  return new TogetherError({
    code: 'stream_error',
    kind: 'stream',
    phase: 'response',
    status: 200,
    ...(requestId ? { requestId } : {}),
    userMessage: `The answer stopped partway: ${message}.`,
    logMessage: `Together stream failed: ${message}`,
    partialText: partial.text,
    partialUsage: partial.usage,
    cause,
  });
}
