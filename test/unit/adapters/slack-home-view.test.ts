import { describe, expect, it } from 'vitest';
import { HOME_ACTIONS, homeView } from '../../../src/adapters/slack/slack-home-view.js';
import { NO_BUDGETS } from '../../../src/core/budget.js';
import type { HomeData, HomeJob } from '../../../src/core/home.js';

const job = (i: number, extra: Partial<HomeJob> = {}): HomeJob => ({
  jobId: `job-${i}`,
  kind: 'flux',
  command: `/flux job ${i}`,
  end: 'done',
  costText: 'Cost: $0.035 (1 image × 1 MP × $0.035/MP)',
  at: Date.UTC(2026, 11, 1, 12, 0, i),
  channelId: 'C0HOME',
  ...extra,
});

const data = (extra: Partial<HomeData> = {}): HomeData => ({
  spentToday: 35_000,
  spentThisMonth: 1_250_000,
  workspaceThisMonth: 9_000_000,
  budgets: NO_BUDGETS,
  jobs: [],
  presets: [],
  notify: 'thread',
  ...extra,
});

describe('the Slack Home tab', () => {
  it('shows spend without budgets plainly, and against them when set', () => {
    expect(JSON.stringify(homeView(data()))).toContain('Today: *$0.035*\\nThis month: *$1.25*"');
    const limited = JSON.stringify(
      homeView(
        data({ budgets: { userPerDay: 1_000_000, channelPerMonth: null, workspacePerMonth: 50_000_000 } }),
      ),
    );
    expect(limited).toContain('Today: *$0.035* of $1.00 (your daily budget)');
    expect(limited).toContain('Your workspace this month: $9.00 of $50.00 (its budget)');
  });

  it('escapes what people typed, so a command or a preset description cannot ping anyone', () => {
    const view = homeView(
      data({
        jobs: [job(1, { command: '/flux <!channel> & <@U0BOSS>' })],
        presets: [{ name: 'tarot', url: 'https://x', scale: 1, description: '<!here> cards' }],
      }),
    );
    const text = JSON.stringify(view);
    expect(text).not.toMatch(/<!channel>|<!here>|<@U0BOSS>/);
    expect(text).toContain('&lt;!channel&gt; &amp; &lt;@U0BOSS&gt;');
  });

  it('lists at most the jobs given, images with Regenerate and a thumbnail, within 100 blocks', () => {
    const jobs = Array.from({ length: 10 }, (_, i) => job(i, { thumbnailFileId: `F${i}` }));
    const view = homeView(data({ jobs: [...jobs, job(99, { kind: 'ask', command: '/ask why' })] }));
    expect(view.blocks.length).toBeLessThanOrEqual(100);
    const buttons = view.blocks.filter((b) => JSON.stringify(b).includes(HOME_ACTIONS.regenerate));
    expect(buttons).toHaveLength(10);
    expect(JSON.stringify(view)).toContain('"slack_file":{"id":"F3"}');
    const notify = view.blocks.at(-1) as { elements: Array<{ value: string; style?: string }> };
    expect(notify.elements.map((e) => [e.value, e.style])).toEqual([
      ['thread', 'primary'],
      ['dm', undefined],
      ['off', undefined],
    ]);
  });
});
