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

/** `/flux usage`: the requester's spend today and this month, and the channel's this month. */
export function usageText(spend: Spend, budgets: Budgets): string {
  const limit = (value: Micros | null) => (value === null ? '' : ` of $${formatUsd(value)}`);
  return [
    `You: $${formatUsd(spend.userDay)}${limit(budgets.userPerDay)} today, $${formatUsd(spend.userMonth)} this month.`,
    `This channel: $${formatUsd(spend.channelMonth)}${limit(budgets.channelPerMonth)} this month.`,
    `This workspace: $${formatUsd(spend.workspaceMonth)}${limit(budgets.workspacePerMonth)} this month.`,
  ].join('\n');
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
