import type { Job, Queue } from 'bullmq';
import type { DashboardInput, DashboardJob } from '../adapters/web/dashboard-data.js';
import type { FeedbackVotes } from '../core/feedback.js';
import type { JobData, JobOutcome } from '../core/jobs.js';
import type { Ledger } from './ledger.js';
import type { WebEventLog } from './web-events.js';

const RECENT_JOBS = 50;

/**
 * Reads what the dashboard shows from where it already lives: the ledger's entries and the BullMQ queues (the
 * jobs BullMQ keeps after they end), plus which web images are still kept for thumbnails and the jobs' 👍/👎.
 */
export class WebDashboardSource {
  constructor(
    private readonly queues: readonly Queue[],
    private readonly ledger: Ledger,
    private readonly events: WebEventLog,
    /** 👍/👎 on answers, shown beside each job. */
    private readonly feedback?: FeedbackVotes,
  ) {}

  async read(now: number): Promise<Omit<DashboardInput, 'budgets'>> {
    const month = new Date(now).toISOString().slice(0, 7);
    const previous = new Date(Date.UTC(Number(month.slice(0, 4)), Number(month.slice(5, 7)) - 2, 1))
      .toISOString()
      .slice(0, 7);
    const [older, current, counts, lists] = await Promise.all([
      this.ledger.entries(previous),
      this.ledger.entries(month),
      Promise.all(
        this.queues.map((q) => q.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'failed')),
      ),
      Promise.all(
        this.queues.map((q) =>
          q.getJobs(
            ['active', 'waiting', 'prioritized', 'delayed', 'completed', 'failed'],
            0,
            RECENT_JOBS - 1,
          ),
        ),
      ),
    ]);
    const jobs = lists
      .flat()
      .filter((job): job is Job => Boolean(job?.id && job.data?.target))
      .sort((a, b) => b.timestamp - a.timestamp)
      .slice(0, RECENT_JOBS)
      .map(dashboardJob);
    const messageIds = jobs.flatMap((job) =>
      job.data.target.platform === 'web' && job.data.kind === 'flux' ? [job.data.target.messageId] : [],
    );
    const sum = (key: string) => counts.reduce((total, c) => total + (c[key] ?? 0), 0);
    const votes = await this.feedback?.counts(jobs.map((job) => job.jobId));
    for (const job of jobs) {
      const count = votes?.get(job.jobId);
      if (count) job.feedback = count;
    }
    return {
      now,
      charges: [...older, ...current],
      queue: {
        waiting: sum('waiting') + sum('prioritized') + sum('delayed'),
        running: sum('active'),
        failed: sum('failed'),
      },
      jobs,
      withImages: await this.events.withImages(messageIds),
    };
  }
}

function dashboardJob(job: Job): DashboardJob {
  const state = job.finishedOn
    ? job.failedReason
      ? 'failed'
      : 'done'
    : job.processedOn
      ? 'running'
      : 'queued';
  return {
    jobId: job.id!,
    data: job.data as JobData,
    state,
    queuedAt: job.timestamp,
    outcome: state === 'done' ? (job.returnvalue as JobOutcome) : undefined,
  };
}
