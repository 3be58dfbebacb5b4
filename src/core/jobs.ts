import type { Requester, Spend } from './budget.js';
import type { Micros } from './money.js';
import type { ChatRequest, ImageRequest } from './requests.js';

/** Where a job came from and where its result goes. Everything delivery needs travels in the job. */
export type DeliveryTarget = SlackTarget | DiscordTarget | CliTarget;

export interface SlackTarget {
  platform: 'slack';
  teamId: string;
  channelId: string;
  userId: string;
  /** The ts of the bot's parent message: its status is kept current and results go into its thread. */
  parentTs: string;
}

export interface DiscordTarget {
  platform: 'discord';
  /** Empty in a DM. */
  guildId: string;
  /** The channel of the status message. */
  channelId: string;
  userId: string;
  /** The message whose content is the status: the interaction's original response, or the bot's reply to a mention. */
  statusMessageId: string;
  /** Where results go: the thread made for a mention, else the status message's channel. */
  resultChannelId: string;
  /** Application commands: the interaction's webhook, usable without the bot token until it expires (15 minutes). */
  interaction?: { applicationId: string; token: string; expiresAt: number };
  /** Largest file Discord accepts here, in bytes (the interaction's `attachment_size_limit`, else 10 MiB). */
  attachmentLimit: number;
}

export interface CliTarget {
  platform: 'cli';
  /** Who ran it, for the ledger (the OS user name). */
  userId: string;
}

interface JobCommon {
  /** The command as the user typed it (formatted back from the request). */
  command: string;
  /** The exact body for Together, built when the command was accepted. */
  body: Record<string, unknown>;
  /** What the request may cost, for budgets (images: exact; chat: an upper bound). */
  estimateMicros: Micros;
  target: DeliveryTarget;
  /** When the platform delivered the command (ms since the epoch). */
  receivedAt: number;
}

export interface ImageJobData extends JobCommon {
  kind: 'flux';
  request: ImageRequest;
}

export interface ChatJobData extends JobCommon {
  kind: 'ask';
  request: ChatRequest;
}

export type JobData = ImageJobData | ChatJobData;

/** What a finished job returns (and what `lorabot run` reads). */
export interface JobOutcome {
  kind: 'flux' | 'ask';
  costMicros: Micros;
  costText: string;
  /** Image jobs: the images, base64, when the target is the CLI. */
  images?: Array<{ mimeType: string; base64: string }>;
  /** Chat jobs: the answer. */
  text?: string;
}

/** The status line of the parent message. */
export type JobStatus =
  | { state: 'queued'; position: number }
  | { state: 'running' }
  | { state: 'done'; costText: string }
  | { state: 'failed'; reason: string };

/**
 * What a platform adapter does to show a job's progress and results. Each method may be called again after a
 * crash or retry; the worker records finished steps so each visible message is posted once.
 */
export interface Deliverer<Target extends DeliveryTarget = DeliveryTarget> {
  updateStatus(target: Target, command: string, status: JobStatus): Promise<void>;
  postImages(
    target: Target,
    images: ReadonlyArray<{ bytes: Uint8Array; mimeType: string }>,
    jobId: string,
  ): Promise<void>;
  /** Posts an answer, in several messages if it is long; each piece is its own step. */
  postAnswer(target: Target, text: string, steps: StepRunner): Promise<void>;
  /** A new message that mentions the requester: edits notify no one. */
  notify(target: Target, notice: Notice): Promise<void>;
}

/** Runs a named step at most once to completion for the current job. */
export interface StepRunner {
  once(step: string, run: () => Promise<void>): Promise<void>;
}

export interface Notice {
  ok: boolean;
  kind: 'flux' | 'ask';
  /** A cost line (success) or a reason a person can act on (failure). */
  text: string;
}

/** The gateway's view of the queue: claim a platform request once, see the line, add the job. */
export interface JobQueue {
  /** True the first time a platform request id is seen; false for a redelivery. */
  claim(requestKey: string): Promise<boolean>;
  release(requestKey: string): Promise<void>;
  position(kind: JobData['kind']): Promise<number>;
  enqueue(jobId: string, data: JobData): Promise<unknown>;
}

/** Reads what has been spent, for budgets and `/flux usage`. */
export interface SpendReader {
  spend(requester: Requester, now: number): Promise<Spend>;
}
