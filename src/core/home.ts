import type { Budgets } from './budget.js';
import type { EndedJob, NotifyMode } from './jobs.js';
import type { Micros } from './money.js';
import type { LoraPreset } from './settings.js';

/** A person in a workspace: whose Home tab it is. */
export interface HomePerson {
  workspaceId: string;
  userId: string;
}

/** One of a person's recent jobs, as their Home tab lists it. */
export interface HomeJob extends EndedJob {
  /** Where it ran: Regenerate runs there again. */
  channelId: string;
  /** The platform's id of its first image (Slack: a file id), for a thumbnail. */
  thumbnailFileId?: string;
}

/** What a person's Home tab shows. */
export interface HomeData {
  spentToday: Micros;
  spentThisMonth: Micros;
  /** What their workspace has spent this month (its budget is monthly). */
  workspaceThisMonth: Micros;
  budgets: Budgets;
  /** Newest first, at most `HOME_JOBS`. */
  jobs: HomeJob[];
  presets: LoraPreset[];
  notify: NotifyMode;
}

/** How many recent jobs a Home tab lists. */
export const HOME_JOBS = 10;

/** Where the Home tab's figures come from. */
export interface HomeSource {
  read(person: HomePerson, now: number): Promise<HomeData>;
  /** Keeps a job that ended among the person's recent ones. */
  record(person: HomePerson, job: HomeJob): Promise<void>;
}
