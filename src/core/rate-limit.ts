/** A limiter for BullMQ: at most `max` jobs started per `durationMs`, shared by every worker on the Redis. */
export interface StartLimit {
  max: number;
  durationMs: number;
}

/** What is kept below a per-minute limit, for the time between a job starting and its request arriving. */
export const RATE_MARGIN = 0.02;

/**
 * Turns a per-minute limit into even starts: at most one second's share at a time (at least one job), each
 * window 2 % longer than its share of the minute. Together enforces per-minute limits per second, so a minute's
 * worth started at once would be refused; and windows this short never put more than `perMinute` starts in any
 * 60 s, wherever that minute begins, as long as a request leaves less than a second after its job starts.
 */
export function smoothStartLimit(perMinute: number): StartLimit {
  const max = Math.max(1, Math.floor(perMinute / 60));
  return { max, durationMs: Math.ceil((max * 60_000 * (1 + RATE_MARGIN)) / perMinute) };
}
