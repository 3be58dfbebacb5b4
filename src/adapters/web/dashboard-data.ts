import type { Budgets } from '../../core/budget.js';
import type { FeedbackCount } from '../../core/feedback.js';
import type { JobData, JobOutcome } from '../../core/jobs.js';
import type { Micros } from '../../core/money.js';
import { webImageUrl } from './web-deliverer.js';
import type { BudgetUse, DashboardData, RankedSpend, RecentJob } from './web-protocol.js';

/** One ledger charge, as the dashboard reads it. */
export interface DashboardCharge {
  at: string;
  platform: string;
  workspaceId: string;
  channelId: string;
  userId: string;
  model: string;
  micros: Micros;
}

/** One job from the queue, newest first, as the dashboard reads it. */
export interface DashboardJob {
  jobId: string;
  data: JobData;
  state: 'queued' | 'running' | 'done' | 'failed';
  /** When it was queued, ms since the epoch. */
  queuedAt: number;
  outcome: JobOutcome | undefined;
  /** 👍/👎 people gave it, when any did. */
  feedback?: FeedbackCount;
}

export interface DashboardInput {
  now: number;
  /** This month's and last month's ledger charges. */
  charges: readonly DashboardCharge[];
  budgets: Budgets;
  queue: DashboardData['queue'];
  jobs: readonly DashboardJob[];
  /** Web messages whose first image is still kept. */
  withImages: ReadonlySet<string>;
}

const DAYS = 30;
const TOP = 10;
const usd = (micros: number) => micros / 1_000_000;

/** What `/dashboard` shows, worked out from the ledger and the queue alone: no second store. */
export function buildDashboard(input: DashboardInput): DashboardData {
  const today = new Date(input.now).toISOString().slice(0, 10);
  const month = today.slice(0, 7);
  const days = Array.from({ length: DAYS }, (_, i) =>
    new Date(input.now - (DAYS - 1 - i) * 86_400_000).toISOString().slice(0, 10),
  );
  const window = input.charges.filter((c) => c.at.slice(0, 10) >= days[0]!);
  const perDay = sumBy(window, (c) => c.at.slice(0, 10));
  const thisMonth = input.charges.filter((c) => c.at.startsWith(month));
  return {
    generatedAt: new Date(input.now).toISOString(),
    spendPerDay: days.map((day) => ({ day, usd: usd(perDay.get(day)?.micros ?? 0) })),
    totalUsd: usd(window.reduce((sum, c) => sum + c.micros, 0)),
    top: {
      people: ranked(sumBy(window, personName)),
      channels: ranked(sumBy(window, channelName)),
      models: ranked(sumBy(window, (c) => c.model)),
    },
    budgets: budgetUse(input.budgets, {
      today: input.charges.filter((c) => c.at.startsWith(today)),
      thisMonth,
    }),
    queue: input.queue,
    recentJobs: input.jobs.map((job) => recentJob(job, input.withImages)),
  };
}

/** How people are named: a web user by the name they logged in with, others by platform and id. */
function personName(c: Pick<DashboardCharge, 'platform' | 'workspaceId' | 'userId'>): string {
  if (c.platform === 'web' || c.platform === 'cli')
    return c.userId.startsWith('web') ? c.userId : `cli:${c.userId}`;
  return `${c.platform}:${c.workspaceId}:${c.userId}`;
}

function channelName(c: Pick<DashboardCharge, 'platform' | 'workspaceId' | 'channelId'>): string {
  if (c.platform === 'web' || c.platform === 'cli') return c.platform;
  return `${c.platform}:${c.workspaceId}:${c.channelId}`;
}

function sumBy(charges: readonly DashboardCharge[], key: (c: DashboardCharge) => string) {
  const sums = new Map<string, { micros: number; jobs: number }>();
  for (const c of charges) {
    const sum = sums.get(key(c)) ?? { micros: 0, jobs: 0 };
    sum.micros += c.micros;
    sum.jobs += 1;
    sums.set(key(c), sum);
  }
  return sums;
}

function ranked(sums: Map<string, { micros: number; jobs: number }>): RankedSpend[] {
  return [...sums]
    .sort((a, b) => b[1].micros - a[1].micros || a[0].localeCompare(b[0]))
    .slice(0, TOP)
    .map(([name, sum]) => ({ name, usd: usd(sum.micros), jobs: sum.jobs }));
}

/** Each configured budget and how much of it each person, channel or workspace has used, most used first. */
function budgetUse(
  budgets: Budgets,
  charges: { today: readonly DashboardCharge[]; thisMonth: readonly DashboardCharge[] },
): BudgetUse[] {
  const scopes: Array<[string, Micros | null, readonly DashboardCharge[], (c: DashboardCharge) => string]> = [
    ['Per person, today', budgets.userPerDay, charges.today, personName],
    ['Per channel, this month', budgets.channelPerMonth, charges.thisMonth, channelName],
    [
      'Per workspace, this month',
      budgets.workspacePerMonth,
      charges.thisMonth,
      (c) => `${c.platform}:${c.workspaceId}`,
    ],
  ];
  return scopes.flatMap(([scope, limit, list, key]) => {
    if (limit === null) return [];
    const used = ranked(sumBy(list, key));
    const rows = used.length > 0 ? used : [{ name: '(nobody yet)', usd: 0, jobs: 0 }];
    return rows.map((row) => ({ scope, name: row.name, usedUsd: row.usd, limitUsd: usd(limit) }));
  });
}

function recentJob(job: DashboardJob, withImages: ReadonlySet<string>): RecentJob {
  const target = job.data.target;
  const messageId = target.platform === 'web' ? target.messageId : undefined;
  return {
    jobId: job.jobId,
    kind: job.data.kind,
    command: job.data.command,
    platform: target.platform,
    user: target.platform === 'web' ? target.userId : `${target.platform}:${target.userId}`,
    state: job.state,
    at: new Date(job.queuedAt).toISOString(),
    costText: job.outcome?.costText ?? null,
    usd: job.outcome ? usd(job.outcome.costMicros) : null,
    thumbnail: messageId && withImages.has(messageId) ? webImageUrl(messageId, 0) : null,
    feedback: job.feedback ?? null,
  };
}
