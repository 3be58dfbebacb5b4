import type { StepPost, StepRunner } from '../core/jobs.js';
import { LuaScript } from './lua-script.js';
import type { RedisClient } from './redis-connection.js';
import type { RedisKeys } from './redis-keys.js';
import { decodeSaved, encodeSaved } from './saved-result.js';

/** Runs a named step of a job at most once to completion, remembered in Redis across retries and restarts. */
export type Steps = StepRunner;

const DAY_SECONDS = 86_400;

/** The journal field that holds the provider call in progress (`CallStart`), until its result is saved. */
const CALL_FIELD = 'call:started';

/**
 * Begins a step in one command: returns the step's record if it finished (`[1, value]`), else marks it started
 * and returns whether an earlier attempt had marked it (`[0, 1|0]`). KEYS[1]: the job's step hash; ARGV: the
 * step's record field, its started field, the mark, the hash's TTL.
 */
const BEGIN = new LuaScript(
  'lorabotStepBegin',
  `
local done = redis.call('HGET', KEYS[1], ARGV[1])
if done then return {1, done} end
local earlier = redis.call('HSETNX', KEYS[1], ARGV[2], ARGV[3])
if earlier == 1 then redis.call('EXPIRE', KEYS[1], ARGV[4]) end
return {0, 1 - earlier}
`,
);

/**
 * Writes a field of a job's step hash and renews the hash's TTL, in one command (a step's record, a call's started
 * mark). KEYS[1]: the hash; ARGV: the field, its value, the TTL.
 */
const RECORD = new LuaScript(
  'lorabotStepRecord',
  `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
`,
);

/**
 * Saves a provider's result and clears its call's started mark, in one command. KEYS: the result, the step hash;
 * ARGV: the result, its TTL, the mark's field.
 */
const SAVE_RESULT = new LuaScript(
  'lorabotSaveResult',
  `
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('HDEL', KEYS[2], ARGV[3])
return 1
`,
);

/**
 * Called after a step's platform call returned and before the journal records it: the instant a crash test stops
 * the worker in. Given only by code that builds a worker (a test harness), never by configuration.
 */
export type StepHook = (jobId: string, step: string) => void | Promise<void>;

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
    private readonly options: { ttlSeconds?: number; afterRun?: StepHook } = {},
  ) {}

  forJob(jobId: string): Steps {
    const steps: Steps = {
      once: (step, run) => this.once(jobId, step, (post) => run({ ...post, steps })),
      value: (step, run) => this.value(jobId, step, (post) => run({ ...post, steps })),
    };
    return steps;
  }

  async value(jobId: string, step: string, run: (post: StepPost) => Promise<string>): Promise<string> {
    return this.run(jobId, { step, field: `value:${step}` }, run);
  }

  async once(jobId: string, step: string, run: (post: StepPost) => Promise<void>): Promise<void> {
    await this.run(jobId, { step, field: step }, async (post) => {
      await run(post);
      return String(Date.now());
    });
  }

  /**
   * A step's one run: its record if it has one; else the step is marked started (in the same command that read
   * the record, so the mark costs no extra round trip), run, and recorded. A started mark left by an earlier
   * attempt makes it a retry, which the deliverer answers by looking for its post before posting again.
   */
  private async run(
    jobId: string,
    at: { step: string; field: string },
    run: (post: StepPost) => Promise<string>,
  ): Promise<string> {
    const key = this.keys.steps(jobId);
    const ttl = this.ttl;
    const [done, found] = (await BEGIN.run(
      this.redis,
      [key],
      [at.field, `started:${at.step}`, String(Date.now()), ttl],
    )) as [number, string | number];
    if (done === 1) return String(found);
    const steps = this.forJob(jobId);
    const value = await run({ job: jobId, step: at.step, retry: found === 1, steps });
    await this.options.afterRun?.(jobId, at.step);
    await RECORD.run(this.redis, [key], [at.field, value, ttl]);
    return value;
  }

  private get ttl(): number {
    return this.options.ttlSeconds ?? 7 * DAY_SECONDS;
  }

  /** A value step's result, if it ran. */
  async peekValue(jobId: string, step: string): Promise<string | undefined> {
    return (await this.redis.hget(this.keys.steps(jobId), `value:${step}`)) ?? undefined;
  }

  /** The steps of a job that ran to completion (not those only started, nor a call in progress). */
  async doneSteps(jobId: string): Promise<string[]> {
    const fields = await this.redis.hkeys(this.keys.steps(jobId));
    return fields.filter((field) => !field.startsWith('started:') && field !== CALL_FIELD);
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
    await RECORD.run(this.redis, [this.keys.steps(jobId)], [CALL_FIELD, JSON.stringify(start), this.ttl]);
  }

  /** Clears the mark of a call that returned without a result (an error the job's failure path handles). */
  async endCall(jobId: string): Promise<void> {
    await this.redis.hdel(this.keys.steps(jobId), CALL_FIELD);
  }

  /**
   * Saves the provider's result and clears the call's mark, in one script (atomic, like a transaction). Bytes in
   * the result (Buffers) are stored as bytes, not base64 (`encodeSaved`).
   */
  async saveCheckpoint(jobId: string, value: unknown): Promise<void> {
    const keys = [this.keys.checkpoint(jobId), this.keys.steps(jobId)];
    await SAVE_RESULT.run(this.redis, keys, [encodeSaved(value), DAY_SECONDS, CALL_FIELD]);
  }

  async loadCheckpoint<T>(jobId: string): Promise<T | undefined> {
    const raw = await this.redis.getBuffer(this.keys.checkpoint(jobId));
    return raw === null ? undefined : (decodeSaved(raw) as T);
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
