import { type UserError, userError } from './lorabot-error.js';
import { formatUsd, type Micros } from './money.js';
import { chatRates, describeRates } from './pricing.js';
import type { CoreSettings } from './settings.js';

/** Spending limits in micro-dollars; null: no limit. */
export interface Budgets {
  userPerDay: Micros | null;
  channelPerMonth: Micros | null;
  workspacePerMonth: Micros | null;
}

export const NO_BUDGETS: Budgets = { userPerDay: null, channelPerMonth: null, workspacePerMonth: null };

/** What has been spent, from the ledger (UTC days and months). */
export interface Spend {
  userDay: Micros;
  userMonth: Micros;
  channelMonth: Micros;
  workspaceMonth: Micros;
  /**
   * How much of this month's spend (the requester's, the workspace's) is earlier Together calls that a stopped
   * worker lost, which Together may have billed: counted like any charge, shown apart by `/flux usage`.
   */
  possiblyBilled?: { user: Tally; workspace: Tally };
}

/** A number of ledger entries and their sum. */
export interface Tally {
  count: number;
  micros: Micros;
}

/** Who asks, where: the ledger's scopes. */
export interface Requester {
  platform: 'slack' | 'discord' | 'cli' | 'web';
  workspaceId: string;
  channelId: string;
  userId: string;
}

/** The ids spend and reservations are kept under in each scope, e.g. `slack:T1:U1` for a user. */
export function scopeIds(who: {
  platform: string;
  workspaceId: string;
  channelId: string;
  userId: string;
}): Record<BudgetScope, string> {
  const workspace = `${who.platform}:${who.workspaceId}`;
  return { workspace, channel: `${workspace}:${who.channelId}`, user: `${workspace}:${who.userId}` };
}

export function hasBudgets(budgets: Budgets): boolean {
  return (
    budgets.userPerDay !== null || budgets.channelPerMonth !== null || budgets.workspacePerMonth !== null
  );
}

/** The scopes a budget applies to: a person per day, a channel and a workspace per month. */
export type BudgetScope = 'user' | 'channel' | 'workspace';

/**
 * What requests accepted but not yet finished have reserved, per scope (the requester's own, their channel's,
 * their workspace's): their estimates, held until each job is charged its real cost or released.
 */
export type Waiting = Record<BudgetScope, Micros>;

export const NOTHING_WAITING: Waiting = { user: 0, channel: 0, workspace: 0 };

/** A budget a request would pass: which, what was spent and is waiting against it, and the request's estimate. */
export interface OverBudget {
  scope: BudgetScope;
  limit: Micros;
  spent: Micros;
  waiting: Micros;
  estimate: Micros;
}

/** Why a request was not admitted: a budget it would pass, or the requester's cap on jobs waiting or running. */
export type AdmissionRefusal =
  | ({ reason: 'budget' } & OverBudget)
  | { reason: 'cap'; jobs: number; max: number };

/** The limit of each scope, in the order they are checked. */
export function budgetLimits(budgets: Budgets): Record<BudgetScope, Micros | null> {
  return { user: budgets.userPerDay, channel: budgets.channelPerMonth, workspace: budgets.workspacePerMonth };
}

/**
 * Refuses a request whose estimate, on top of what was spent and what accepted requests are waiting to spend,
 * would take a budget past its limit, saying what was spent and what the limit is. The estimate is exact for
 * images and an upper bound for answers.
 */
export function checkBudget(
  budgets: Budgets,
  spend: Spend,
  estimate: Micros,
  waiting: Waiting = NOTHING_WAITING,
): UserError | undefined {
  const spent: Record<BudgetScope, Micros> = {
    user: spend.userDay,
    channel: spend.channelMonth,
    workspace: spend.workspaceMonth,
  };
  for (const [scope, limit] of Object.entries(budgetLimits(budgets)) as Array<[BudgetScope, Micros | null]>) {
    if (limit === null || spent[scope] + waiting[scope] + estimate <= limit) continue;
    const over = { scope, limit, spent: spent[scope], waiting: waiting[scope], estimate };
    return userError('over_budget', refusalText({ reason: 'budget', ...over }));
  }
  return undefined;
}

/** The private answer to a request that was not admitted. */
export function refusalText(refusal: AdmissionRefusal): string {
  if (refusal.reason === 'cap') {
    const jobs = `${refusal.jobs} job${refusal.jobs === 1 ? '' : 's'}`;
    return `You have ${jobs} waiting or running; the limit is ${refusal.max}. Wait for one to finish or cancel one with /flux jobs.`;
  }
  const words: Record<BudgetScope, [string, string]> = {
    user: ['You have spent', 'your daily budget'],
    channel: ['This channel has spent', "this channel's monthly budget"],
    workspace: ['This workspace has spent', "the workspace's monthly budget"],
  };
  const [who, which] = words[refusal.scope];
  const waiting =
    refusal.waiting > 0
      ? `, with $${formatUsd(refusal.waiting)} more waiting in requests not yet finished`
      : '';
  return (
    `Over budget: ${who} $${formatUsd(refusal.spent)} of ${which} of $${formatUsd(refusal.limit)}${waiting}, ` +
    `and this request may cost $${formatUsd(refusal.estimate)}. Nothing was queued or charged. Ask an admin to ` +
    'raise the budget, or try later.'
  );
}

/**
 * `/flux usage`: the requester's spend today and this month, and the channel's and workspace's this month; what
 * requests not yet finished have reserved is shown as waiting; and, when there are any, the earlier calls lost
 * with a stopped worker that those amounts include.
 */
export function usageText(spend: Spend, budgets: Budgets, waiting: Waiting = NOTHING_WAITING): string {
  const limit = (value: Micros | null) => (value === null ? '' : ` of $${formatUsd(value)}`);
  const more = (micros: Micros) => (micros > 0 ? ` (+$${formatUsd(micros)} waiting)` : '');
  const lines = [
    `You: $${formatUsd(spend.userDay)}${limit(budgets.userPerDay)} today${more(waiting.user)}, $${formatUsd(spend.userMonth)} this month.`,
    `This channel: $${formatUsd(spend.channelMonth)}${limit(budgets.channelPerMonth)} this month${more(waiting.channel)}.`,
    `This workspace: $${formatUsd(spend.workspaceMonth)}${limit(budgets.workspacePerMonth)} this month${more(waiting.workspace)}.`,
  ];
  const lost = spend.possiblyBilled;
  if (lost && (lost.user.count > 0 || lost.workspace.count > 0)) {
    const calls = (tally: Tally) =>
      `${tally.count} ${tally.count === 1 ? 'call' : 'calls'} ($${formatUsd(tally.micros)})`;
    lines.push(
      `Included this month: earlier Together calls, possibly billed (a worker stopped during the call): ` +
        `yours ${calls(lost.user)}, this workspace's ${calls(lost.workspace)}.`,
    );
  }
  return lines.join('\n');
}

/** `/ask models`: the chat models and their prices. */
export function modelsText(settings: CoreSettings): string {
  const lines = Object.values(settings.chat.models).map((m) => {
    const price = describeRates(chatRates(m.pricing, m.id, settings.prices));
    const isDefault = m.name === settings.chat.defaultModel ? ' (default)' : '';
    const pictures = m.vision ? ', reads pictures' : '';
    return `• ${m.name}${isDefault}: ${m.description ?? m.id}, up to ${m.maxTokens} tokens${pictures}, ${price}`;
  });
  return ['Chat models (use `--model <name>`):', ...lines].join('\n');
}
