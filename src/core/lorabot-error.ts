import type { ChatUsage } from './ports.js';

/**
 * The root of every error lorabot raises on purpose. `userMessage` is safe to post in chat; `details` is for logs
 * only and never holds a secret.
 */
export class LorabotError<Code extends string = string> extends Error {
  readonly code: Code;
  readonly userMessage: string;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(options: {
    code: Code;
    userMessage: string;
    logMessage?: string;
    details?: Record<string, unknown>;
    cause?: unknown;
  }) {
    super(options.logMessage ?? options.userMessage, { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code;
    this.userMessage = options.userMessage;
    this.details = Object.freeze({ ...options.details });
  }
}

/** A mistake in what a person typed: answered privately, nothing queued, nothing charged. */
export interface UserError {
  /** A stable code for tests and metrics, e.g. `too_many_loras`. */
  code: string;
  /** The message the user sees: names the bad token and the fix. */
  message: string;
}

export function userError(code: string, message: string): UserError {
  return { code, message };
}

/** What the worker needs to know about a failed provider call, whichever provider it was. */
export interface ProviderFailure {
  userMessage: string;
  /** A stable code for what went wrong (e.g. `unauthorized`), kept on the failed job. */
  code?: string;
  /** The provider may have done (and billed) the work although no result arrived. */
  mayBeBilled: boolean;
  /** The provider certainly did the work (it answered 200) although the result could not be used. */
  billed: boolean;
  /** Trying the whole job again later may succeed. */
  retryLater: boolean;
  /** A streamed answer that broke off: the text that had arrived. */
  partialText?: string | undefined;
  /** A streamed answer that broke off: the token counts, if the provider had sent them. */
  partialUsage?: ChatUsage | undefined;
}

export function isProviderFailure(error: unknown): error is ProviderFailure & Error {
  return (
    error instanceof Error &&
    typeof (error as Partial<ProviderFailure>).userMessage === 'string' &&
    typeof (error as Partial<ProviderFailure>).mayBeBilled === 'boolean' &&
    typeof (error as Partial<ProviderFailure>).billed === 'boolean' &&
    typeof (error as Partial<ProviderFailure>).retryLater === 'boolean'
  );
}
