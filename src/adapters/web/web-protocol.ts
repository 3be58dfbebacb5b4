/**
 * What the gateway and the page say to each other. Types only: the page's code (web/src) imports this file too,
 * so the two cannot drift apart.
 */

/** A button under a message; pressing it posts `{ action, id }` to `/api/actions`. */
export interface WebButton {
  action: WebActionName;
  /** The job id (cancel, regenerate, vary, edit, details) or the confirmation id (run, dismiss). */
  id: string;
  label: string;
  style?: 'primary' | 'danger';
}

export type WebActionName = 'cancel' | 'regenerate' | 'vary' | 'edit' | 'details' | 'run' | 'dismiss';

/** A job's status line, as on Slack and Discord. */
export type WebStatus =
  | { state: 'queued'; position: number }
  | { state: 'running' }
  | { state: 'done'; costText: string }
  | { state: 'failed'; reason: string }
  | { state: 'cancelled'; by: string };

/** One event on a session's stream. `messageId` is the page's id for the message the event belongs to. */
export type WebEvent =
  | {
      type: 'status';
      messageId: string;
      jobId: string;
      kind: 'flux' | 'ask';
      command: string;
      context?: string;
      status: WebStatus;
      buttons: WebButton[];
    }
  /** The answer so far, while it is generated. */
  | { type: 'preview'; messageId: string; text: string }
  /** The whole answer (replaces the preview). */
  | { type: 'answer'; messageId: string; text: string }
  | { type: 'images'; messageId: string; images: Array<{ url: string; fileName: string; mimeType: string }> }
  /** The completion notice: the cost line, or what went wrong. */
  | { type: 'notice'; messageId: string; ok: boolean; text: string }
  /** An answer only this browser session sees (errors, help, usage, confirmations). */
  | { type: 'private'; messageId: string; text: string; buttons?: WebButton[] }
  /**
   * Edit pressed: a form under the message asking for the prompt, opened with `text`; it posts `/api/edits` with
   * `draftId`. `images`: how many images the edit starts from.
   */
  | { type: 'editor'; messageId: string; draftId: string; text: string; images: number };

/** `POST /api/commands`. */
export interface WebCommandBody {
  text: string;
  /** The page's id for the message (a UUID); a command sent twice with one id is queued once. */
  requestId: string;
  /**
   * Images attached to the line: the tokens `POST /api/uploads` answered. `/flux` starts from them (an edit),
   * `/ask` asks about them (a vision question), as with a file attached on Discord.
   */
  images?: string[];
}

/** `POST /api/actions`. */
export interface WebActionBody {
  action: WebActionName;
  id: string;
  requestId: string;
}

/** `POST /api/edits`: an editor's form sent. */
export interface WebEditBody {
  draftId: string;
  /** The prompt, read as `/flux` text (options allowed). */
  text: string;
  requestId: string;
}

/** `GET /api/session`. */
export interface WebSessionInfo {
  name: string;
  csrfToken: string;
  /** The largest image the page may attach (`POST /api/uploads`), in bytes; absent: attaching is off. */
  uploadMaxBytes?: number;
}

/** `GET /api/dashboard`. */
export interface DashboardData {
  generatedAt: string;
  /** The last 30 UTC days, oldest first, each with its spend in USD. */
  spendPerDay: Array<{ day: string; usd: number }>;
  totalUsd: number;
  top: {
    people: RankedSpend[];
    channels: RankedSpend[];
    models: RankedSpend[];
  };
  budgets: BudgetUse[];
  queue: { waiting: number; running: number; failed: number };
  recentJobs: RecentJob[];
}

export interface RankedSpend {
  name: string;
  usd: number;
  jobs: number;
}

export interface BudgetUse {
  /** e.g. "Per person per day" */
  scope: string;
  /** Who or what it is counted for, e.g. "slack:T1:U1". */
  name: string;
  usedUsd: number;
  limitUsd: number;
}

export interface RecentJob {
  jobId: string;
  kind: 'flux' | 'ask';
  command: string;
  platform: string;
  user: string;
  state: string;
  /** When it was queued, ISO. */
  at: string;
  costText: string | null;
  usd: number | null;
  /** A URL of the first image while the web keeps it. */
  thumbnail: string | null;
  /** 👍/👎 people gave the answer (Slack), or null when nobody rated it. */
  feedback: { up: number; down: number } | null;
}
