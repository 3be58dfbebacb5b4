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

export function hasBudgets(budgets: Budgets): boolean {
  return (
    budgets.userPerDay !== null || budgets.channelPerMonth !== null || budgets.workspacePerMonth !== null
  );
}

/**
 * Refuses a request whose estimate would take a budget past its limit, saying what was spent and what the limit
 * is. The estimate is exact for images and an upper bound for answers.
 */
export function checkBudget(budgets: Budgets, spend: Spend, estimate: Micros): UserError | undefined {
  const checks: Array<[Micros | null, Micros, string, string]> = [
    [budgets.userPerDay, spend.userDay, 'You have spent', 'your daily budget'],
    [budgets.channelPerMonth, spend.channelMonth, 'This channel has spent', "this channel's monthly budget"],
    [
      budgets.workspacePerMonth,
      spend.workspaceMonth,
      'This workspace has spent',
      "the workspace's monthly budget",
    ],
  ];
  for (const [limit, spent, who, which] of checks) {
    if (limit === null || spent + estimate <= limit) continue;
    return userError(
      'over_budget',
      `Over budget: ${who} $${formatUsd(spent)} of ${which} of $${formatUsd(limit)}, and this request may cost ` +
        `$${formatUsd(estimate)}. Nothing was queued or charged. Ask an admin to raise the budget, or try later.`,
    );
  }
  return undefined;
}

/**
 * `/flux usage`: the requester's spend today and this month, and the channel's and workspace's this month; and, when
 * there are any, the earlier calls lost with a stopped worker that those amounts include.
 */
export function usageText(spend: Spend, budgets: Budgets): string {
  const limit = (value: Micros | null) => (value === null ? '' : ` of $${formatUsd(value)}`);
  const lines = [
    `You: $${formatUsd(spend.userDay)}${limit(budgets.userPerDay)} today, $${formatUsd(spend.userMonth)} this month.`,
    `This channel: $${formatUsd(spend.channelMonth)}${limit(budgets.channelPerMonth)} this month.`,
    `This workspace: $${formatUsd(spend.workspaceMonth)}${limit(budgets.workspacePerMonth)} this month.`,
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
    return `• ${m.name}${isDefault}: ${m.description ?? m.id}, up to ${m.maxTokens} tokens, ${price}`;
  });
  return ['Chat models (use `--model <name>`):', ...lines].join('\n');
}
