import type { StepRunner } from '../core/jobs.js';
import type { RedisClient } from './redis-connection.js';
import type { RedisKeys } from './redis-keys.js';

/** Runs a named step of a job at most once to completion, remembered in Redis across retries and restarts. */
export type Steps = StepRunner;

const DAY_SECONDS = 86_400;

/** The journal field that holds the provider call in progress (`CallStart`), until its result is saved. */
const CALL_FIELD = 'call:started';

/** A provider call that was begun: by which attempt, and when (ms since the epoch). */
export interface CallStart {
  attemptId: string;
  at: number;
}

/**
 * The record of a job's finished delivery steps and the provider result it already paid for. A job retried after a
 * crash reads both and picks up where it stopped: no second Together call, no second message. A provider call is
 * marked started before its request is sent and cleared with its saved result, so a retried job that finds the
 * mark knows the worker stopped during a call that Together may have billed.
 */
export class StepJournal {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly ttlSeconds = 7 * DAY_SECONDS,
  ) {}

  forJob(jobId: string): Steps {
    return {
      once: (step, run) => this.once(jobId, step, run),
      value: (step, run) => this.value(jobId, step, run),
    };
  }

  async value(jobId: string, step: string, run: () => Promise<string>): Promise<string> {
    const key = this.keys.steps(jobId);
    const field = `value:${step}`;
    const known = await this.redis.hget(key, field);
    if (known !== null) return known;
    const value = await run();
    await this.redis.multi().hset(key, field, value).expire(key, this.ttlSeconds).exec();
    return value;
  }

  async once(jobId: string, step: string, run: () => Promise<void>): Promise<void> {
    const key = this.keys.steps(jobId);
    if ((await this.redis.hexists(key, step)) === 1) return;
    await run();
    await this.redis.multi().hset(key, step, String(Date.now())).expire(key, this.ttlSeconds).exec();
  }

  /** A value step's result, if it ran. */
  async peekValue(jobId: string, step: string): Promise<string | undefined> {
    return (await this.redis.hget(this.keys.steps(jobId), `value:${step}`)) ?? undefined;
  }

  async doneSteps(jobId: string): Promise<string[]> {
    return this.redis.hkeys(this.keys.steps(jobId));
  }

  /** Whether a step of a job has run to completion. */
  async hasStep(jobId: string, step: string): Promise<boolean> {
    return (await this.redis.hexists(this.keys.steps(jobId), step)) === 1;
  }

  /** The provider call begun and not returned, if an earlier attempt left one. */
  async startedCall(jobId: string): Promise<CallStart | undefined> {
    const text = await this.redis.hget(this.keys.steps(jobId), CALL_FIELD);
    return text === null ? undefined : (JSON.parse(text) as CallStart);
  }

  /** Marks a provider call as begun, before its request is sent. */
  async startCall(jobId: string, start: CallStart): Promise<void> {
    const key = this.keys.steps(jobId);
    await this.redis.multi().hset(key, CALL_FIELD, JSON.stringify(start)).expire(key, this.ttlSeconds).exec();
  }

  /** Clears the mark of a call that returned without a result (an error the job's failure path handles). */
  async endCall(jobId: string): Promise<void> {
    await this.redis.hdel(this.keys.steps(jobId), CALL_FIELD);
  }

  /** Saves the provider's result and clears the call's mark, in one transaction. */
  async saveCheckpoint(jobId: string, value: unknown): Promise<void> {
    await this.redis
      .multi()
      .set(this.keys.checkpoint(jobId), JSON.stringify(value), 'EX', DAY_SECONDS)
      .hdel(this.keys.steps(jobId), CALL_FIELD)
      .exec();
  }

  async loadCheckpoint<T>(jobId: string): Promise<T | undefined> {
    const text = await this.redis.get(this.keys.checkpoint(jobId));
    return text === null ? undefined : (JSON.parse(text) as T);
  }

  /**
   * Keeps a delivered result for `seconds` more (an image job's images, which Vary and Edit start from), instead of
   * dropping it; the step record stays for its own TTL.
   */
  async keepCheckpoint(jobId: string, seconds: number): Promise<void> {
    await this.redis.expire(this.keys.checkpoint(jobId), seconds);
  }

  /** Drops the (large) provider result once everything is delivered; the step record stays for its TTL. */
  async dropCheckpoint(jobId: string): Promise<void> {
    await this.redis.del(this.keys.checkpoint(jobId));
  }
}
