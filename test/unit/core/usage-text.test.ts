import { describe, expect, it } from 'vitest';
import { NO_BUDGETS, type Spend, usageText } from '../../../src/core/budget.js';

const spend: Spend = { userDay: 70_000, userMonth: 105_000, channelMonth: 140_000, workspaceMonth: 175_000 };

describe('usageText (/flux usage)', () => {
  it('shows the spend of the person, the channel and the workspace, and no line about lost calls when there are none', () => {
    const none = { count: 0, micros: 0 };
    expect(usageText({ ...spend, possiblyBilled: { user: none, workspace: none } }, NO_BUDGETS)).toBe(
      [
        'You: $0.07 today, $0.105 this month.',
        'This channel: $0.14 this month.',
        'This workspace: $0.175 this month.',
      ].join('\n'),
    );
  });

  it('says how many earlier calls lost with a stopped worker the amounts include, and what they came to', () => {
    const text = usageText(
      {
        ...spend,
        possiblyBilled: { user: { count: 1, micros: 35_000 }, workspace: { count: 3, micros: 105_000 } },
      },
      NO_BUDGETS,
    );
    expect(text.split('\n').at(-1)).toBe(
      'Included this month: earlier Together calls, possibly billed (a worker stopped during the call): ' +
        "yours 1 call ($0.035), this workspace's 3 calls ($0.105).",
    );
  });
});
