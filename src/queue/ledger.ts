import { type Requester, type Spend, scopeIds } from '../core/budget.js';
import type { SpendReader } from '../core/jobs.js';
import type { Micros } from '../core/money.js';
import { type HeldReservation, RELEASE_FUNCTION } from './budget-reservations.js';
import { LuaScript } from './lua-script.js';
import type { RedisClient } from './redis-connection.js';
import type { RedisKeys } from './redis-keys.js';

export interface LedgerEntry {
  jobId: string;
  /** ISO time of the charge. */
  at: string;
  platform: string;
  /** Workspace (Slack team) or guild; empty for the CLI. */
  workspaceId: string;
  channelId: string;
  userId: string;
  /** `finetune`: a fine-tune started with `/ask finetune`, charged Together's `total_price` when it ends. */
  kind: 'flux' | 'ask' | 'finetune';
  model: string;
  micros: Micros;
  /**
   * `charged`: priced from the result; `billed-failed`: Together did the work (or part of it: a stream cut short)
   * but the job did not succeed; `possibly-billed`: an earlier call of the job that a stopped worker left without
   * a result, which Together may have billed.
   */
  status: 'charged' | 'billed-failed' | 'possibly-billed';
  costText: string;
  /** True when the amount is an estimate (token counts from the text's length, or an answer's upper bound). */
  estimated?: boolean;
  /** Why the entry is what it is, e.g. `earlier call, possibly billed (worker stopped during the call)`. */
  note?: string;
  /** `possibly-billed` entries: the attempt that made the call; one entry per such call. */
  callId?: string;
}

/** How many calls, and how much, a scope's `possibly-billed` entries come to in a month. */
export interface PossiblyBilled {
  count: number;
  micros: Micros;
}

// KEYS: the charge's marker, ARGV[4] totals, the month's entry list, ARGV[5] tallies of possibly-billed calls, then
// (optional) the job's budget reservation, settled here whether or not this call charges. ARGV: micros, the entry,
// the lifetime of the marker, entries and tallies, the two counts, the job id whose reservation is settled, then
// each total's lifetime in the order of KEYS.
const CHARGE = new LuaScript(
  'lorabotCharge',
  `${RELEASE_FUNCTION}
local totals = tonumber(ARGV[4])
local entries = totals + 2
local charge = entries + tonumber(ARGV[5])
if #KEYS > charge then releaseReservation(charge + 1, ARGV[6]) end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[3]) then
  for i = 2, totals + 1 do
    redis.call('INCRBY', KEYS[i], ARGV[1])
    redis.call('EXPIRE', KEYS[i], ARGV[i + 5])
  end
  redis.call('RPUSH', KEYS[entries], ARGV[2])
  redis.call('EXPIRE', KEYS[entries], ARGV[3])
  for i = entries + 1, charge do
    redis.call('HINCRBY', KEYS[i], 'count', 1)
    redis.call('HINCRBY', KEYS[i], 'micros', ARGV[1])
    redis.call('EXPIRE', KEYS[i], ARGV[3])
  end
  return 1
end
return 0`,
);

/** A day's totals serve daily budgets and the dashboard's 30-day chart: kept 40 days after the day's last charge. */
const DAY_TTL_SECONDS = 40 * 86_400;
/**
 * A month's totals, its entries (what `lorabot usage --csv` and the dashboard read) and the charged markers: kept
 * 400 days after the month's last charge, so the CSV of any of the last 13 months can be exported.
 */
const MONTH_TTL_SECONDS = 400 * 86_400;

/**
 * Spend per user, channel and workspace, by UTC day and month, in micro-dollars. `charge` is atomic and
 * idempotent per job (one Lua script), so a job retried after a crash is never charged twice; a call that a stopped
 * worker lost has its own entry, once per call (`callId`).
 */
export class Ledger implements SpendReader {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  /**
   * Returns true when this call charged the job (or the lost call), false when it had been charged already. A
   * job's budget reservation (`settles`) ends in the same script, charged or not, so the real cost replaces the
   * estimate atomically: a crash can neither count both nor drop both. A `possibly-billed` entry settles nothing:
   * the job it belongs to is still running.
   */
  async charge(entry: LedgerEntry, settles?: HeldReservation): Promise<boolean> {
    const day = entry.at.slice(0, 10);
    const month = entry.at.slice(0, 7);
    const ids = this.scopeIds(entry);
    const totals = (['user', 'channel', 'workspace'] as const).flatMap(
      (scope): Array<[string, number]> => [
        [this.keys.ledgerTotal(scope, ids[scope], 'day', day), DAY_TTL_SECONDS],
        [this.keys.ledgerTotal(scope, ids[scope], 'month', month), MONTH_TTL_SECONDS],
      ],
    );
    const tallies =
      entry.status === 'possibly-billed'
        ? [
            this.keys.ledgerPossiblyBilled('user', ids.user, month),
            this.keys.ledgerPossiblyBilled('workspace', ids.workspace, month),
          ]
        : [];
    const marker = this.keys.charged(entry.callId ? `${entry.jobId}:call:${entry.callId}` : entry.jobId);
    const keys = [marker, ...totals.map(([key]) => key), this.keys.ledgerEntries(month), ...tallies];
    const settled = settles?.keys ?? [];
    const result = await CHARGE.run(
      this.redis,
      [...keys, ...settled],
      [
        String(entry.micros),
        JSON.stringify(entry),
        String(MONTH_TTL_SECONDS),
        String(totals.length),
        String(tallies.length),
        settles?.jobId ?? '',
        ...totals.map(([, ttl]) => String(ttl)),
      ],
    );
    return result === 1;
  }

  /** A scope's `possibly-billed` entries in a month (`YYYY-MM`): how many, and their sum. */
  async possiblyBilled(scope: 'user' | 'workspace', id: string, month: string): Promise<PossiblyBilled> {
    const tally = await this.redis.hgetall(this.keys.ledgerPossiblyBilled(scope, id, month));
    return { count: Number(tally.count ?? 0), micros: Number(tally.micros ?? 0) };
  }

  async total(
    scope: 'user' | 'channel' | 'workspace',
    id: string,
    period: 'day' | 'month',
    when: string,
  ): Promise<Micros> {
    return Number((await this.redis.get(this.keys.ledgerTotal(scope, id, period, when))) ?? 0);
  }

  async spend(requester: Requester, now: number): Promise<Spend> {
    const at = new Date(now).toISOString();
    const day = at.slice(0, 10);
    const month = at.slice(0, 7);
    const ids = this.scopeIds(requester);
    const [userDay, userMonth, channelMonth, workspaceMonth, user, workspace] = await Promise.all([
      this.total('user', ids.user, 'day', day),
      this.total('user', ids.user, 'month', month),
      this.total('channel', ids.channel, 'month', month),
      this.total('workspace', ids.workspace, 'month', month),
      this.possiblyBilled('user', ids.user, month),
      this.possiblyBilled('workspace', ids.workspace, month),
    ]);
    return { userDay, userMonth, channelMonth, workspaceMonth, possiblyBilled: { user, workspace } };
  }

  async entries(month: string): Promise<LedgerEntry[]> {
    const rows = await this.redis.lrange(this.keys.ledgerEntries(month), 0, -1);
    return rows.map((row) => JSON.parse(row) as LedgerEntry);
  }

  /** The ids totals are kept under, e.g. `slack:T1:U1` for a user. */
  scopeIds(entry: Pick<LedgerEntry, 'platform' | 'workspaceId' | 'channelId' | 'userId'>) {
    return scopeIds(entry);
  }
}

/**
 * The ledger as CSV, one row per charge, amounts in USD with 6 decimals (RFC 4180 quoting). `estimated` is `yes`
 * for an estimated amount; `note` says why an entry is not a plain charge. A text cell that a spreadsheet would run
 * as a formula is prefixed with `'`.
 */
export function ledgerCsv(entries: readonly LedgerEntry[]): string {
  const header = [
    'at',
    'job_id',
    'platform',
    'workspace',
    'channel',
    'user',
    'kind',
    'model',
    'usd',
    'status',
    'cost',
    'estimated',
    'note',
  ];
  const text = (value: string) => quote(neutralise(value));
  const rows = entries.map((e) =>
    [
      text(e.at),
      text(e.jobId),
      text(e.platform),
      text(e.workspaceId),
      text(e.channelId),
      text(e.userId),
      text(e.kind),
      text(e.model),
      // Numeric and never negative (prices are non-negative by the config schema): left as a number.
      (e.micros / 1_000_000).toFixed(6),
      text(e.status),
      text(e.costText),
      e.estimated ? 'yes' : 'no',
      text(e.note ?? ''),
    ].join(','),
  );
  return `${[header.join(','), ...rows].join('\n')}\n`;
}

function quote(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * Prefixes `'` to a cell starting with `=`, `+`, `-`, `@`, tab or CR, which spreadsheets treat as the start of a
 * formula (a model name or a user id is chosen by whoever runs the command).
 * @see https://owasp.org/www-community/attacks/CSV_Injection
 */
export function neutralise(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}
