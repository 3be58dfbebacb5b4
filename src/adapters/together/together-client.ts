import { setTimeout as sleepFor } from 'node:timers/promises';
import { Agent, type Dispatcher, request } from 'undici';
import type {
  AttemptHooks,
  CallOptions,
  ChatProvider,
  ChatResult,
  ImageProvider,
  ImageResult,
  Logger,
} from '../../core/ports.js';
import type { ListedModel } from '../../core/pricing.js';
import { normalizeFinishReason, readUsage } from './chat-response.js';
import { readChatStream } from './chat-stream.js';
import { togetherErrorFromResponse } from './http-status-error.js';
import { DEFAULT_DOWNLOAD_LIMITS, type DownloadOptions } from './image-download.js';
import { readImages } from './image-response.js';
import { parseModelList } from './model-list.js';
import { errorCode, flattenHeaders, togetherErrorFromNetwork } from './network-error.js';
import { invalidResponse, readJson } from './response-body.js';
import { DEFAULT_RETRY_OPTIONS, decideRetry, type RetryOptions } from './retry-policy.js';
import { type CallKind, TogetherError } from './together-error.js';

export interface TogetherTimeouts {
  /** One image generation attempt, from sending to the whole body (FLUX dev with n=4 can take minutes). */
  imageMs: number;
  /** One non-streamed chat attempt. */
  chatMs: number;
  /** Longest silence between two chunks of a stream. */
  streamIdleMs: number;
  /** Longest a whole stream may take. */
  streamTotalMs: number;
  connectMs: number;
}

/** The timeouts when none are configured (`together.timeouts` in the config file). */
export const DEFAULT_TIMEOUTS: TogetherTimeouts = {
  imageMs: 180_000,
  chatMs: 120_000,
  streamIdleMs: 30_000,
  streamTotalMs: 300_000,
  connectMs: 10_000,
};

export interface TogetherClientOptions {
  /** e.g. `https://api.together.ai/v1` */
  baseUrl: string;
  /** undefined: every call fails with a message naming TOGETHER_API_KEY. */
  apiKey: string | undefined;
  timeouts?: Partial<TogetherTimeouts>;
  retry?: Partial<RetryOptions>;
  download?: Partial<DownloadOptions>;
  /** A dispatcher to use instead of the client's own keep-alive Agent (tests: a CA for a local https fake). */
  dispatcher?: Dispatcher;
  /** Connections the client's own Agent may open to one origin: as many as requests may run at once. */
  maxConnections?: number;
  logger?: Logger;
  userAgent?: string;
  /** Injected for tests; defaults to a real timer. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  now?: () => number;
}

interface Attempt<T> {
  run(signal: AbortSignal): Promise<T>;
  /** For streams: whether a token arrived in the attempt that failed. */
  started?: () => boolean;
  /** The caller's hooks around each wait between attempts. */
  hooks?: AttemptHooks | undefined;
}

/**
 * Together's REST API over one keep-alive undici Agent: image generation, chat completions and chat streams,
 * with typed errors and the retry policy in `retry-policy.ts`.
 */
export class TogetherClient implements ImageProvider, ChatProvider {
  private readonly base: string;
  private readonly timeouts: TogetherTimeouts;
  private readonly retry: RetryOptions;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly download: DownloadOptions;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly random: () => number;
  private readonly now: () => number;
  private closed = false;

  constructor(private readonly options: TogetherClientOptions) {
    this.base = options.baseUrl.replace(/\/+$/, '');
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    this.retry = { ...DEFAULT_RETRY_OPTIONS, ...options.retry };
    this.ownsDispatcher = !options.dispatcher;
    this.dispatcher =
      options.dispatcher ??
      new Agent({
        keepAliveTimeout: 30_000,
        connections: options.maxConnections ?? 32,
        connect: { timeout: this.timeouts.connectMs },
      });
    const userAgent = options.userAgent ?? 'lorabot';
    this.download = {
      ...DEFAULT_DOWNLOAD_LIMITS,
      userAgent,
      dispatcher: this.dispatcher,
      ...options.download,
    };
    this.sleep = options.sleep ?? ((ms, signal) => sleepFor(ms, undefined, { signal }));
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
  }

  /** @see https://docs.together.ai/reference/post-images-generations */
  async generateImages(body: Record<string, unknown>, options: CallOptions = {}): Promise<ImageResult> {
    const model = String(body.model);
    return this.withRetries('image', options.signal, {
      hooks: options.attempts,
      run: async (signal) => {
        const response = await this.post('/images/generations', body, {
          kind: 'image',
          model,
          modelSetting: options.modelSetting,
          signal,
          timeoutMs: this.timeouts.imageMs,
        });
        const json = await readJson(response, 'image');
        const images = await readImages(json, {
          download: { ...this.download, signal },
          retry: this.retry,
          requestId: response.requestId,
          sleep: this.sleep,
          random: this.random,
          now: this.now,
        });
        return { images, requestId: response.requestId, attempts: 0 };
      },
    });
  }

  /** @see https://docs.together.ai/reference/chat-completions-1 */
  async chat(body: Record<string, unknown>, options: CallOptions = {}): Promise<ChatResult> {
    const model = String(body.model);
    return this.withRetries('chat', options.signal, {
      hooks: options.attempts,
      run: async (signal) => {
        const response = await this.post(
          '/chat/completions',
          { ...body, stream: false },
          {
            kind: 'chat',
            model,
            modelSetting: options.modelSetting,
            signal,
            timeoutMs: this.timeouts.chatMs,
          },
        );
        const json = (await readJson(response, 'chat')) as {
          choices?: Array<{ message?: { content?: string | null }; finish_reason?: string | null }>;
          usage?: unknown;
        };
        const choice = json.choices?.[0];
        if (!choice) throw invalidResponse('chat', 'the chat response had no choices', response.requestId);
        return {
          text: choice.message?.content ?? '',
          finishReason: normalizeFinishReason(choice.finish_reason),
          usage: readUsage(json.usage),
          requestId: response.requestId,
          attempts: 0,
        };
      },
    });
  }

  /**
   * Streams a chat completion over SSE, calling `onDelta` with each piece of text. Usage is taken from whichever
   * chunk carries it; an `{"error":…}` event inside the 200 stream is an error. Retried only before the first token.
   */
  async streamChat(
    body: Record<string, unknown>,
    options: CallOptions & { onDelta?: (text: string) => void } = {},
  ): Promise<ChatResult> {
    const model = String(body.model);
    let started = false;
    return this.withRetries('stream', options.signal, {
      started: () => started,
      hooks: options.attempts,
      run: async (signal) => {
        started = false;
        const response = await this.post(
          '/chat/completions',
          { ...body, stream: true },
          {
            kind: 'stream',
            model,
            modelSetting: options.modelSetting,
            signal,
            timeoutMs: this.timeouts.streamTotalMs,
            bodyTimeoutMs: this.timeouts.streamIdleMs,
          },
        );
        return readChatStream(response, {
          signal,
          idleMs: this.timeouts.streamIdleMs,
          onDelta: (text) => {
            started = true;
            options.onDelta?.(text);
          },
        }).then((result) => ({ ...result, attempts: 0 }));
      },
    });
  }

  /**
   * The models Together lists for this key, with their type and prices: `lorabot doctor` checks the configured
   * models against it, and chat presets priced `auto` take their rates from it. `dedicated: true` asks for the
   * dedicated models only (Together's `dedicated` filter).
   * @see https://docs.together.ai/reference/models-1
   */
  async listModels(options: CallOptions & { dedicated?: boolean } = {}): Promise<ListedModel[]> {
    return this.withRetries('chat', options.signal, {
      run: async (signal) => {
        const timeout = AbortSignal.timeout(this.timeouts.chatMs);
        let response: Dispatcher.ResponseData;
        try {
          response = await request(`${this.base}/models${options.dedicated ? '?dedicated=true' : ''}`, {
            method: 'GET',
            dispatcher: this.dispatcher,
            signal: AbortSignal.any([signal, timeout]),
            headers: {
              authorization: `Bearer ${this.options.apiKey}`,
              accept: 'application/json',
              'user-agent': this.download.userAgent,
            },
          });
        } catch (error) {
          if (signal.aborted) throw error;
          throw togetherErrorFromNetwork({
            kind: 'chat',
            error,
            timedOut: timeout.aborted,
            timeoutMs: this.timeouts.chatMs,
          });
        }
        const headers = flattenHeaders(response.headers);
        if (response.statusCode >= 400) {
          const bodyText = await response.body.text().catch(() => '');
          throw togetherErrorFromResponse({ kind: 'chat', status: response.statusCode, headers, bodyText });
        }
        const json = (await readJson(
          { body: response.body, requestId: headers['x-request-id'] },
          'chat',
        )) as unknown;
        return { models: parseModelList(json), attempts: 0 };
      },
    }).then((result) => result.models);
  }

  /** Closes the keep-alive connections (only those of an Agent this client made). Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  private async withRetries<T extends { attempts: number }>(
    kind: CallKind,
    outer: AbortSignal | undefined,
    attempt: Attempt<T>,
  ): Promise<T> {
    if (!this.options.apiKey) {
      throw new TogetherError({
        code: 'not_configured',
        kind,
        phase: 'connect',
        userMessage: 'The bot has no Together API key. An operator needs to set TOGETHER_API_KEY.',
        logMessage: 'TOGETHER_API_KEY is not set',
      });
    }
    for (let retries = 0; ; retries++) {
      try {
        const result = await attempt.run(outer ?? new AbortController().signal);
        result.attempts = retries + 1;
        return result;
      } catch (caught) {
        const error = this.toTogetherError(caught, kind, outer);
        const decision = decideRetry({
          error,
          retriesSoFar: retries,
          options: this.retry,
          streamStarted: attempt.started?.() ?? false,
          random: this.random(),
          now: this.now(),
        });
        this.options.logger?.warn(
          {
            kind,
            code: error.code,
            status: error.status,
            requestId: error.requestId,
            attempt: retries + 1,
            retry: decision.retry,
            reason: decision.reason,
            ...(decision.retry ? { delayMs: decision.delayMs } : {}),
          },
          error.message,
        );
        if (!decision.retry) throw error;
        await attempt.hooks?.waiting();
        try {
          await this.sleep(decision.delayMs, outer);
        } catch {
          throw this.toTogetherError(outer?.reason ?? caught, kind, outer);
        }
        await attempt.hooks?.resuming();
      }
    }
  }

  private toTogetherError(caught: unknown, kind: CallKind, outer: AbortSignal | undefined): TogetherError {
    if (caught instanceof TogetherError) return caught;
    if (outer?.aborted) {
      return new TogetherError({
        code: 'aborted',
        kind,
        phase: 'sent',
        userMessage: 'The request was cancelled.',
        logMessage: `Together ${kind} request cancelled`,
        cause: caught,
      });
    }
    throw caught;
  }

  private async post(
    path: string,
    body: Record<string, unknown>,
    call: {
      kind: CallKind;
      model: string;
      modelSetting: string | undefined;
      signal: AbortSignal;
      timeoutMs: number;
      bodyTimeoutMs?: number;
    },
  ): Promise<{
    status: number;
    headers: Record<string, string>;
    body: Dispatcher.ResponseData['body'];
    requestId: string | undefined;
  }> {
    const timeout = AbortSignal.timeout(call.timeoutMs);
    const signal = AbortSignal.any([call.signal, timeout]);
    let response: Dispatcher.ResponseData;
    try {
      response = await request(`${this.base}${path}`, {
        method: 'POST',
        dispatcher: this.dispatcher,
        signal,
        // For a stream, the wait for headers counts as silence too.
        headersTimeout: call.bodyTimeoutMs ?? call.timeoutMs,
        bodyTimeout: call.bodyTimeoutMs ?? call.timeoutMs,
        headers: {
          authorization: `Bearer ${this.options.apiKey}`,
          'content-type': 'application/json',
          accept: call.kind === 'stream' ? 'text/event-stream' : 'application/json',
          'user-agent': this.download.userAgent,
        },
        body: JSON.stringify(body),
      });
    } catch (error) {
      if (call.signal.aborted) throw error;
      const timedOut = timeout.aborted || errorCode(error) === 'UND_ERR_HEADERS_TIMEOUT';
      const timeoutMs = timeout.aborted ? call.timeoutMs : (call.bodyTimeoutMs ?? call.timeoutMs);
      throw togetherErrorFromNetwork({ kind: call.kind, error, timedOut, timeoutMs });
    }
    const headers = flattenHeaders(response.headers);
    const requestId = headers['x-request-id'] ?? headers['cf-ray'];
    if (response.statusCode >= 400) {
      const bodyText = await response.body.text().catch(() => '');
      throw togetherErrorFromResponse({
        kind: call.kind,
        status: response.statusCode,
        headers,
        bodyText,
        model: call.model,
        ...(call.modelSetting ? { modelSetting: call.modelSetting } : {}),
      });
    }
    this.options.logger?.debug(
      { kind: call.kind, status: response.statusCode, requestId },
      'Together answered',
    );
    return { status: response.statusCode, headers, body: response.body, requestId };
  }
}
