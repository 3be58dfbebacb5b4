import {
  type BudgetScope,
  type Budgets,
  budgetLimits,
  NO_BUDGETS,
  type Requester,
  scopeIds,
  type Waiting,
} from '../core/budget.js';
import type { Admission, JobAdmission, JobData } from '../core/jobs.js';
import type { Micros } from '../core/money.js';
import { LuaScript } from './lua-script.js';
import type { RedisClient } from './redis-connection.js';
import type { RedisKeys } from './redis-keys.js';

/** Priorities past this many jobs of one person share the last level (BullMQ allows up to 2,097,151). */
export const PRIORITY_LEVELS = 1000;

/**
 * A job missing from the queue is taken for gone only when its reservation is older than this: a gateway
 * reserves before it posts the status message and queues the job, which takes a moment (longer while a platform
 * rate-limits it).
 */
export const ORPHAN_GRACE_MS = 10 * 60_000;

/** The sweep looks at this many of the oldest reservations each time. */
const SWEEP_BATCH = 1000;

const SCOPES: readonly BudgetScope[] = ['user', 'channel', 'workspace'];

/**
 * KEYS: the job's record, its person's set of jobs, the index, the three reserved totals, the three spent totals
 * (the ledger's, for the current day or month). ARGV: estimate, the three limits (-1: none), the cap (-1: none),
 * job id, now (ms), the three scope ids, the job's kind. Checks the cap, then each budget (spent + waiting +
 * estimate ≤ limit); only when all pass does it reserve in all. A job admitted already gets its first answer.
 */
const ADMIT = new LuaScript(
  'lorabotAdmit',
  `
local held = redis.call('HGET', KEYS[1], 'priority')
if held then return {1, tonumber(held)} end
local jobs = redis.call('SCARD', KEYS[2])
local cap = tonumber(ARGV[5])
if cap >= 0 and jobs >= cap then return {0, 'cap', jobs} end
local estimate = tonumber(ARGV[1])
for i = 1, 3 do
  local limit = tonumber(ARGV[1 + i])
  if limit >= 0 then
    local spent = tonumber(redis.call('GET', KEYS[6 + i]) or '0')
    local waiting = tonumber(redis.call('GET', KEYS[3 + i]) or '0')
    if spent + waiting + estimate > limit then return {0, 'budget', i, spent, waiting} end
  end
end
for i = 4, 6 do redis.call('INCRBY', KEYS[i], ARGV[1]) end
local priority = math.min(jobs + 1, ${PRIORITY_LEVELS})
redis.call('SADD', KEYS[2], ARGV[6])
redis.call('ZADD', KEYS[3], ARGV[7], ARGV[6])
redis.call('HSET', KEYS[1], 'micros', ARGV[1], 'priority', priority, 'kind', ARGV[11],
  'user', ARGV[8], 'channel', ARGV[9], 'workspace', ARGV[10])
return {1, priority}`,
);

/**
 * A Lua function that gives back a job's reservation, once: KEYS[first] is its record, then its person's set,
 * the index and the three reserved totals. The ledger's charge script includes it, so that a job's charge and
 * the end of its reservation are one atomic step.
 */
export const RELEASE_FUNCTION = `
local function releaseReservation(first, jobId)
  local micros = redis.call('HGET', KEYS[first], 'micros')
  if not micros then return 0 end
  for i = first + 3, first + 5 do
    if redis.call('DECRBY', KEYS[i], micros) <= 0 then redis.call('DEL', KEYS[i]) end
  end
  redis.call('SREM', KEYS[first + 1], jobId)
  redis.call('ZREM', KEYS[first + 2], jobId)
  redis.call('DEL', KEYS[first])
  return 1
end`;

const RELEASE = new LuaScript(
  'lorabotRelease',
  `${RELEASE_FUNCTION}
return releaseReservation(1, ARGV[1])`,
);

/** A job's reservation as the release function takes it: its id and its six keys. */
export interface HeldReservation {
  jobId: string;
  keys: string[];
}

/** Whether a job has ended for good (completed, failed, or no longer in Redis): how the sweep asks the queue. */
export type JobEnded = (jobId: string, kind: JobData['kind']) => Promise<'ended' | 'gone' | 'live'>;

/**
 * Budget reservations and the per-person cap, in Redis, shared by every gateway and worker. A request's estimate
 * is reserved when it is admitted (one Lua script checks the cap and every budget and reserves in all), replaced
 * by the real charge when its job ends (`HeldReservation` in the ledger's script), and released when it will
 * never run. Every key carries the queue prefix, a Redis Cluster hash tag, so each script's keys share a slot.
 */
export class BudgetReservations implements JobAdmission {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    /** What `admit` checks; a worker, which only settles and releases, needs none. */
    private readonly limits: { budgets: Budgets; perPersonMaxJobs: number | null } = {
      budgets: NO_BUDGETS,
      perPersonMaxJobs: null,
    },
  ) {}

  async admit(
    jobId: string,
    request: { requester: Requester; kind: JobData['kind']; estimate: Micros; now: number },
  ): Promise<Admission> {
    const { requester, estimate, now } = request;
    const ids = scopeIds(requester);
    const at = new Date(now).toISOString();
    const spent = [
      this.keys.ledgerTotal('user', ids.user, 'day', at.slice(0, 10)),
      this.keys.ledgerTotal('channel', ids.channel, 'month', at.slice(0, 7)),
      this.keys.ledgerTotal('workspace', ids.workspace, 'month', at.slice(0, 7)),
    ];
    const limits = budgetLimits(this.limits.budgets);
    const answer = (await ADMIT.run(
      this.redis,
      [...this.recordKeys(jobId, ids), ...spent],
      [
        String(estimate),
        ...SCOPES.map((scope) => String(limits[scope] ?? -1)),
        String(this.limits.perPersonMaxJobs ?? -1),
        jobId,
        String(now),
        ids.user,
        ids.channel,
        ids.workspace,
        request.kind,
      ],
    )) as [number, ...Array<string | number>];
    if (answer[0] === 1) return { ok: true, priority: Number(answer[1]) };
    if (answer[1] === 'cap') {
      return {
        ok: false,
        refusal: { reason: 'cap', jobs: Number(answer[2]), max: this.limits.perPersonMaxJobs! },
      };
    }
    const scope = SCOPES[Number(answer[2]) - 1]!;
    const over = {
      scope,
      limit: limits[scope]!,
      spent: Number(answer[3]),
      waiting: Number(answer[4]),
      estimate,
    };
    return { ok: false, refusal: { reason: 'budget', ...over } };
  }

  /** The job's reservation as the ledger's charge script settles it, or undefined when it holds none. */
  async held(jobId: string): Promise<HeldReservation | undefined> {
    const [user, channel, workspace] = await this.redis.hmget(
      this.keys.reservation(jobId),
      'user',
      'channel',
      'workspace',
    );
    if (!user || !channel || !workspace) return undefined;
    return { jobId, keys: this.recordKeys(jobId, { user, channel, workspace }) };
  }

  async release(jobId: string): Promise<void> {
    const held = await this.held(jobId);
    if (held) await RELEASE.run(this.redis, held.keys, [jobId]);
  }

  async waiting(requester: Requester): Promise<Waiting> {
    const ids = scopeIds(requester);
    const values = await this.redis.mget(...SCOPES.map((scope) => this.keys.reserved(scope, ids[scope])));
    const [user, channel, workspace] = values.map((value) => Math.max(0, Number(value ?? 0)));
    return { user: user!, channel: channel!, workspace: workspace! };
  }

  /** How many jobs of the requester hold a reservation (waiting or running). */
  async jobsOf(requester: Requester): Promise<number> {
    return this.redis.scard(this.keys.personJobs(scopeIds(requester).user));
  }

  /**
   * Releases the reservations of jobs that will never settle them: ended (completed or failed, e.g. by BullMQ
   * after too many stalls, without lorabot's failure path) or gone from Redis (removed from the admin board, or
   * never queued by a gateway that stopped halfway) for longer than `graceMs`. Returns how many it released.
   */
  async sweep(jobEnded: JobEnded, now: number, graceMs = ORPHAN_GRACE_MS): Promise<number> {
    const oldest = await this.redis.zrange(this.keys.reservationIndex(), 0, SWEEP_BATCH - 1, 'WITHSCORES');
    let released = 0;
    for (let i = 0; i < oldest.length; i += 2) {
      const jobId = oldest[i]!;
      const kind = await this.redis.hget(this.keys.reservation(jobId), 'kind');
      const state = kind === 'flux' || kind === 'ask' ? await jobEnded(jobId, kind) : 'gone';
      const orphaned = state === 'ended' || (state === 'gone' && now - Number(oldest[i + 1]) >= graceMs);
      if (!orphaned) continue;
      await this.release(jobId);
      // A record with no fields left (released meanwhile) still leaves its index entry: drop it too.
      await this.redis.zrem(this.keys.reservationIndex(), jobId);
      released++;
    }
    return released;
  }

  /** Sweeps every `everyMs` until the returned function is called. */
  sweepEvery(everyMs: number, jobEnded: JobEnded, onError: (error: unknown) => void): () => void {
    const timer = setInterval(() => {
      this.sweep(jobEnded, Date.now()).catch(onError);
    }, everyMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** The job's record, its person's set, the index and the three reserved totals (the release function's order). */
  private recordKeys(jobId: string, ids: Record<BudgetScope, string>): string[] {
    return [
      this.keys.reservation(jobId),
      this.keys.personJobs(ids.user),
      this.keys.reservationIndex(),
      ...SCOPES.map((scope) => this.keys.reserved(scope, ids[scope])),
    ];
  }
}
