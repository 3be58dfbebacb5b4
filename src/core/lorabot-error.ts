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
