/**
 * How a failed job's reason is stored in the queue (BullMQ's `failedReason`): the message the requester saw,
 * preceded by the stable error code in brackets when the failure has one, e.g.
 * `[unauthorized] Together rejected the bot's API key. An operator needs to check TOGETHER_API_KEY.`
 * Clients of the queue (`lorabot run`) read it back with `readFailedReason`.
 */
export interface JobFailure {
  /** What the requester was told. */
  reason: string;
  /** A stable code such as `unauthorized`, `not_configured` or `model_unavailable`; see `TogetherErrorCode`. */
  code: string | undefined;
}

const CODED = /^\[([a-z][a-z0-9_]*)\] ([\s\S]*)$/;

export function failedReasonText(failure: JobFailure): string {
  return failure.code ? `[${failure.code}] ${failure.reason}` : failure.reason;
}

export function readFailedReason(text: string): JobFailure {
  const match = CODED.exec(text);
  return match ? { code: match[1], reason: match[2]! } : { reason: text, code: undefined };
}
