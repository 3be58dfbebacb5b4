import { describe, expect, it } from 'vitest';
import { checkBudget, refusalText, usageText } from '../../../src/core/budget.js';

const budgets = { userPerDay: 100_000, channelPerMonth: 5_000_000, workspacePerMonth: null };
const spend = { userDay: 35_000, userMonth: 35_000, channelMonth: 35_000, workspaceMonth: 35_000 };

describe('budgets counting what is waiting', () => {
  it('refuses a request that fits what was spent but not what is waiting too, naming both', () => {
    expect(checkBudget(budgets, spend, 35_000)).toBeUndefined();
    const refused = checkBudget(budgets, spend, 35_000, { user: 35_000, channel: 35_000, workspace: 35_000 });
    expect(refused?.message).toBe(
      'Over budget: You have spent $0.035 of your daily budget of $0.10, with $0.035 more waiting in requests not yet finished, and this request may cost $0.035. Nothing was queued or charged. Ask an admin to raise the budget, or try later.',
    );
  });

  it('lets a request take a budget exactly to its limit', () => {
    expect(checkBudget(budgets, spend, 30_000, { user: 35_000, channel: 0, workspace: 0 })).toBeUndefined();
  });

  it('says how many jobs a person has against the cap', () => {
    expect(refusalText({ reason: 'cap', jobs: 5, max: 5 })).toBe(
      'You have 5 jobs waiting or running; the limit is 5. Wait for one to finish or cancel one with /flux jobs.',
    );
    expect(refusalText({ reason: 'cap', jobs: 1, max: 1 })).toMatch(
      /^You have 1 job waiting or running; the limit is 1\./,
    );
  });

  it('shows what is waiting in /flux usage only when something is', () => {
    expect(usageText(spend, budgets)).toBe(
      'You: $0.035 of $0.10 today, $0.035 this month.\nThis channel: $0.035 of $5.00 this month.\nThis workspace: $0.035 this month.',
    );
    expect(usageText(spend, budgets, { user: 70_000, channel: 70_000, workspace: 0 })).toBe(
      'You: $0.035 of $0.10 today (+$0.07 waiting), $0.035 this month.\nThis channel: $0.035 of $5.00 this month (+$0.07 waiting).\nThis workspace: $0.035 this month.',
    );
  });
});
