import type { IntakeRecord } from '../core/intake.js';
import { LuaScript } from './lua-script.js';
import type { RedisClient } from './redis-connection.js';
import type { RedisKeys } from './redis-keys.js';

/** A claim (and its intake record) lasts a day: a platform's redelivery within it finds the request taken. */
const CLAIM_SECONDS = 86_400;

/**
 * KEYS: the claim, then (when the request has a record) the record and the index, then (a Discord interaction)
 * its token's key. ARGV: the claim's seconds, the record, the time (ms), the request key, the token, its life (ms).
 * Claims the request; only the first claim writes the record, indexes it by time and keeps the token apart.
 */
const CLAIM_SCRIPT = new LuaScript(
  'lorabotIntakeClaim',
  `
if not redis.call('SET', KEYS[1], '1', 'EX', ARGV[1], 'NX') then return 0 end
if #KEYS >= 3 then
  redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[1])
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
end
if #KEYS >= 4 then redis.call('SET', KEYS[4], ARGV[5], 'PX', ARGV[6]) end
return 1`,
);

/** KEYS: the record, the index, then the claim when it is given back. ARGV: the request key. */
const CLEAR_SCRIPT = new LuaScript(
  'lorabotIntakeClear',
  `
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if #KEYS >= 3 then redis.call('DEL', KEYS[3]) end
return 1`,
);

/** KEYS: the lease. ARGV: its holder. Gives the lease back only if it is still this holder's. */
const LEASE_RETURN_SCRIPT = new LuaScript(
  'lorabotIntakeLeaseReturn',
  `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`,
);

/** A Discord interaction's token, kept with the claim under its own key until it expires. */
export interface KeptToken {
  key: string;
  token: string;
  lifeMs: number;
}

/**
 * Claims and intake records in Redis. A claim with a record is one script (the `SET NX` it replaces, plus two
 * writes inside it), and the record's clear is one more script once the job is queued: the normal path sends one
 * command more than a bare claim.
 */
export class IntakeStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  /** True the first time a request is seen (for a day), having written its record; false for a redelivery. */
  async claim(requestKey: string, record?: IntakeRecord, token?: KeptToken): Promise<boolean> {
    const keys = [this.keys.claim(requestKey)];
    if (record) keys.push(this.keys.intake(requestKey), this.keys.intakeIndex());
    if (record && token) keys.push(token.key);
    const argv = [
      String(CLAIM_SECONDS),
      record ? JSON.stringify(record) : '',
      String(record?.at ?? 0),
      requestKey,
      token?.token ?? '',
      String(token?.lifeMs ?? 0),
    ];
    return (await CLAIM_SCRIPT.run(this.redis, keys, argv)) === 1;
  }

  /** Drops the record (the job is queued, or the request was refused); the claim stays. */
  async clear(requestKey: string): Promise<void> {
    const keys = [this.keys.intake(requestKey), this.keys.intakeIndex()];
    await CLEAR_SCRIPT.run(this.redis, keys, [requestKey]);
  }

  /** Drops the record and the claim: the request may be tried again. */
  async release(requestKey: string): Promise<void> {
    const keys = [this.keys.intake(requestKey), this.keys.intakeIndex(), this.keys.claim(requestKey)];
    await CLEAR_SCRIPT.run(this.redis, keys, [requestKey]);
  }

  /** Requests claimed at or before `before` (ms) whose records are still there, oldest first, with when. */
  async claimedBefore(before: number, limit: number): Promise<Array<{ requestKey: string; at: number }>> {
    const flat = await this.redis.zrangebyscore(
      this.keys.intakeIndex(),
      '-inf',
      before,
      'WITHSCORES',
      'LIMIT',
      0,
      limit,
    );
    const claimed: Array<{ requestKey: string; at: number }> = [];
    for (let i = 0; i < flat.length; i += 2) claimed.push({ requestKey: flat[i]!, at: Number(flat[i + 1]) });
    return claimed;
  }

  /** A request's record, or undefined when it is gone (cleared, or expired with its claim). */
  async record(requestKey: string): Promise<IntakeRecord | undefined> {
    const json = await this.redis.get(this.keys.intake(requestKey));
    return json ? (JSON.parse(json) as IntakeRecord) : undefined;
  }

  /** Takes the sweep's lease for `ms` unless another holder has it. */
  async takeLease(holder: string, ms: number): Promise<boolean> {
    return (await this.redis.set(this.keys.intakeSweep(), holder, 'PX', ms, 'NX')) === 'OK';
  }

  async returnLease(holder: string): Promise<void> {
    await LEASE_RETURN_SCRIPT.run(this.redis, [this.keys.intakeSweep()], [holder]);
  }
}
