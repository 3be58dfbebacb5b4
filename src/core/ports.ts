/**
 * The small interfaces the core and the queue depend on; each adapter implements one. Time, logging and the
 * outside world come in through these, never from globals.
 */

import type { SourceImage } from './requests.js';
import type { LinkProblem } from './source-link.js';

export interface Clock {
  now(): number;
}

export interface Logger {
  debug(obj: Record<string, unknown>, msg?: string): void;
  info(obj: Record<string, unknown>, msg?: string): void;
  warn(obj: Record<string, unknown>, msg?: string): void;
  error(obj: Record<string, unknown>, msg?: string): void;
}

export interface GeneratedImage {
  bytes: Uint8Array;
  mimeType: 'image/png' | 'image/jpeg' | 'image/webp';
}

export interface ImageResult {
  images: GeneratedImage[];
  /** Together's `x-request-id`, for support tickets. */
  requestId: string | undefined;
  attempts: number;
}

export interface ChatUsage {
  promptTokens: number;
  completionTokens: number;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'error' | 'unknown';

export interface ChatResult {
  text: string;
  finishReason: FinishReason;
  /** undefined when the provider reported none. */
  usage: ChatUsage | undefined;
  requestId: string | undefined;
  attempts: number;
}

/** A part of a chat message's content: text, or an image (a https URL or a data URL) for a vision model. */
export type ChatContentPart =
  | { type: 'text'; text: string }
  | { type: 'image_url'; image_url: { url: string } };

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  /** Text, or parts (text and images) for a vision model. */
  content: string | ChatContentPart[];
}

/**
 * Turns a job's source images into what Together reads, just before the call: a link as it is, a Slack file
 * downloaded with the bot token (then a data URL or a short-lived `/files/<token>` link), an image lorabot made
 * from its job's saved result. Throws a `LorabotError` a person can act on when one cannot be had.
 */
export interface SourceImageResolver {
  /**
   * `job.kind` says which endpoint reads the result: `ask` (vision chat) always takes data URLs; `flux` (absent:
   * `flux`) takes what `sources.image_as` says. `job.signal` aborts a download when the job is cancelled.
   */
  resolve(
    sources: readonly SourceImage[],
    job: { jobId: string; kind?: 'flux' | 'ask'; signal?: AbortSignal | undefined },
  ): Promise<string[]>;
}

/**
 * Looks at an `--image` link once before its request is queued (a HEAD, bounded in time, redirects and the
 * addresses it may reach): undefined when Together should be able to read it, else why not.
 */
export interface LinkProbe {
  check(url: string): Promise<LinkProblem | undefined>;
}

export interface CallOptions {
  signal?: AbortSignal;
  /**
   * The config key that chose the model (`image.model`, `chat.models.<name>.id`): errors that only an admin can
   * fix name it.
   */
  modelSetting?: string;
  /** Told around each wait between attempts, so a call is marked in flight only while a request may be at Together. */
  attempts?: AttemptHooks;
}

/**
 * A retried call's pauses: `waiting` after an attempt failed and before the wait for the next (nothing is at the
 * provider then), `resuming` after the wait and before the next request is sent.
 */
export interface AttemptHooks {
  waiting(): Promise<void>;
  resuming(): Promise<void>;
}

/** Generates images from a provider request body. */
export interface ImageProvider {
  generateImages(body: Record<string, unknown>, options?: CallOptions): Promise<ImageResult>;
}

/** Runs a chat completion, whole or streamed. */
export interface ChatProvider {
  chat(body: Record<string, unknown>, options?: CallOptions): Promise<ChatResult>;
  streamChat(
    body: Record<string, unknown>,
    options?: CallOptions & { onDelta?: (text: string) => void },
  ): Promise<ChatResult>;
}

/** What lorabot counts and times, for `/metrics`. Every method is cheap and never throws. */
/** The labels of `lorabot_commands_total`: the same set of values on every platform. */
export interface CommandLabels {
  /** `slack`, `discord`, `web`, `cli`. */
  platform: string;
  /** How it arrived: `slash`, `mention`, `dm`, `thread`, `button`, `cli`, `web`. */
  entry: string;
  /** What was asked for: `flux`, `ask`, `info`, `notify`, `cancel`, `dismiss`, or `run` for an unknown confirmation. */
  kind: string;
  /** What became of it: `queued`, `answered`, `help`, `user_error`, `not_allowed`, `over_budget`, `confirm`, … */
  outcome: string;
}

export interface Telemetry {
  /** A command, follow-up or button press reached a gateway, and what became of it (queued, user_error, …). */
  command(labels: CommandLabels): void;
  /** A job ended (`done`, `failed`) or will be tried again (`retried`). */
  job(kind: string, outcome: string, seconds: number): void;
  /** One provider call, `result` being `ok` or the HTTP status or error code. */
  provider(kind: string, result: string, seconds: number): void;
  /** Money charged in the ledger. */
  spent(model: string, micros: number): void;
  /** A 👍/👎 press: the vote, and whether it is a person's first on the job, a change, or the same again. */
  feedback?(platform: string, vote: 'up' | 'down', change: 'new' | 'changed' | 'same'): void;
}

export const NO_TELEMETRY: Telemetry = {
  command() {},
  job() {},
  provider() {},
  spent() {},
};
