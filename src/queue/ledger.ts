import type { Redis } from 'ioredis';
import { type Requester, type Spend, scopeIds } from '../core/budget.js';
import type { SpendReader } from '../core/jobs.js';
import type { Micros } from '../core/money.js';
import { type HeldReservation, RELEASE_FUNCTION } from './budget-reservations.js';
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
  kind: 'flux' | 'ask';
  model: string;
  micros: Micros;
  /** `charged`: priced from the result; `billed-failed`: Together answered 200 but the result was unusable. */
  status: 'charged' | 'billed-failed';
  costText: string;
}

// KEYS: the charged marker, the totals, the month's entries, then (optional) the job's budget reservation, settled
// here. ARGV: micros, the entry, the marker's and entries' lifetime, how many KEYS are the charge's, the job id
// whose reservation is settled, then each total's lifetime in the order of KEYS.
const CHARGE_SCRIPT = `${RELEASE_FUNCTION}
local n = tonumber(ARGV[4])
if #KEYS > n then releaseReservation(n + 1, ARGV[5]) end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[3]) then
  for i = 2, n - 1 do
    redis.call('INCRBY', KEYS[i], ARGV[1])
    redis.call('EXPIRE', KEYS[i], ARGV[i + 4])
  end
  redis.call('RPUSH', KEYS[n], ARGV[2])
  redis.call('EXPIRE', KEYS[n], ARGV[3])
  return 1
end
return 0`;

/** A day's totals serve daily budgets and the dashboard's 30-day chart: kept 40 days after the day's last charge. */
const DAY_TTL_SECONDS = 40 * 86_400;
/**
 * A month's totals, its entries (what `lorabot usage --csv` and the dashboard read) and the charged markers: kept
 * 400 days after the month's last charge, so the CSV of any of the last 13 months can be exported.
 */
const MONTH_TTL_SECONDS = 400 * 86_400;

/**
 * Spend per user, channel and workspace, by UTC day and month, in micro-dollars. `charge` is atomic and
 * idempotent per job (one Lua script), so a job retried after a crash is never charged twice.
 */
export class Ledger implements SpendReader {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  /**
   * Returns true when this call charged the job, false when it had been charged already. A job's budget
   * reservation (`settles`) ends in the same script, charged or not, so the real cost replaces the estimate
   * atomically: a crash can neither count both nor drop both.
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
    const keys = [
      this.keys.charged(entry.jobId),
      ...totals.map(([key]) => key),
      this.keys.ledgerEntries(month),
    ];
    const settled = settles?.keys ?? [];
    const result = await this.redis.eval(
      CHARGE_SCRIPT,
      keys.length + settled.length,
      ...keys,
      ...settled,
      String(entry.micros),
      JSON.stringify(entry),
      String(MONTH_TTL_SECONDS),
      String(keys.length),
      settles?.jobId ?? '',
      ...totals.map(([, ttl]) => String(ttl)),
    );
    return result === 1;
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
    const [userDay, userMonth, channelMonth, workspaceMonth] = await Promise.all([
      this.total('user', ids.user, 'day', day),
      this.total('user', ids.user, 'month', month),
      this.total('channel', ids.channel, 'month', month),
      this.total('workspace', ids.workspace, 'month', month),
    ]);
    return { userDay, userMonth, channelMonth, workspaceMonth };
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
 * The ledger as CSV, one row per charge, amounts in USD with 6 decimals (RFC 4180 quoting). A text cell that a
 * spreadsheet would run as a formula is prefixed with `'`.
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
