import type { Requester } from './budget.js';
import type {
  ChatJobData,
  DeliveryTarget,
  DiscordTarget,
  ImageJobData,
  JobData,
  JobStatus,
  JobView,
  WebTarget,
} from './jobs.js';

/*
 * A request between its claim and its queueing. The claim writes, in the same Redis step, an intake record with
 * everything needed to queue the job without the gateway; queueing clears it. A gateway that stops in between
 * leaves the record to the worker's recovery sweep, which admits the request (idempotently), posts its status
 * (or finds the one the gateway posted) and queues it under the same job id.
 */

/** Where a job's status message goes, known before it is posted: what a worker needs to post it itself. */
export type StatusOrigin = SlackOrigin | DiscordMessageOrigin | DiscordInteractionOrigin | WebTarget;

/** A Slack channel, or a thread in it (a follow-up, an assistant thread). */
export interface SlackOrigin {
  platform: 'slack';
  workspaceId: string;
  channelId: string;
  userId: string;
  /** The thread the status goes in; none: a new message in the channel, whose thread then holds the job. */
  threadTs?: string;
  /** An assistant thread (Slack's AI app view). */
  assistant?: true;
  /** A new request in an assistant thread (not a follow-up): its status names the thread. */
  namesThread?: true;
}

/** A Discord mention or DM: the status is a reply to `messageId`, and in a server a thread on it holds results. */
export interface DiscordMessageOrigin {
  platform: 'discord';
  via: 'message';
  workspaceId: string;
  channelId: string;
  userId: string;
  messageId: string;
  /** The status message gets a thread for the results (a server channel that is not a thread). */
  thread: boolean;
  /** A name for that thread. */
  threadName: string;
}

/**
 * A Discord interaction (a slash command, a button, a submitted form): everything of the job's target but its
 * status message; the interaction's token is kept apart under `interaction.tokenRef` until it expires.
 */
export interface DiscordInteractionOrigin {
  platform: 'discord';
  via: 'interaction';
  /** The interaction's id: its public follow-ups carry it (`interaction_metadata.id`). */
  interactionId: string;
  target: Omit<DiscordTarget, 'statusMessageId'>;
}

/** The status message of a job, as posted: where its status and results go, and its conversation. */
export interface PostedStatus {
  /** Where the job's status and results go. */
  target: DeliveryTarget;
  /** The key a conversation started by this job (a new `/ask`) is kept under. */
  conversationKey: string;
  /** Other message ids a reply may point at to continue the conversation (Discord), besides its key. */
  aliases: string[];
}

/** A job's data before its status is posted: everything but the target. */
export type PendingJob = Omit<ImageJobData, 'target'> | Omit<ChatJobData, 'target'>;

/** What the claim keeps of a request until its job is queued. */
export interface IntakeRecord {
  requestKey: string;
  /** When the gateway claimed it (ms since the epoch). */
  at: number;
  origin: StatusOrigin;
  view: JobView;
  job: PendingJob;
  /** Who asked, for admission (a confirmation's Run: the person who asked, not the presser). */
  requester: Requester;
  /** A follow-up's conversation; none: a new conversation, kept under the status message's key. */
  followUpKey?: string;
}

/**
 * The job to queue once its status is posted: a new `/ask` starts a conversation under the status message's key,
 * a follow-up continues its own (the status message then leads to it too).
 */
export function jobWithStatus(job: PendingJob, posted: PostedStatus, followUpKey?: string): JobData {
  const data = { ...job, target: posted.target } as JobData;
  if (data.kind === 'ask') {
    data.conversation = followUpKey
      ? { key: followUpKey, aliases: posted.aliases }
      : { key: posted.conversationKey, aliases: [] };
  }
  return data;
}

/**
 * A worker's recovery posts a status where its gateway stopped: it first looks for the status the gateway may
 * have posted in the instant before it stopped (Slack: the message's metadata; Discord: the reply's nonce, or the
 * interaction's own response; the web: an event that replaces the message), so a person sees one status message.
 */
export interface StatusRecovery {
  /** `claimedAt`: when the gateway claimed the request (ms); a status it posted is newer. */
  post(origin: StatusOrigin, view: JobView, status: JobStatus, claimedAt: number): Promise<PostedStatus>;
  /** Tells the requester as privately as the platform allows (a refusal); never throws. */
  tell(origin: StatusOrigin, text: string): Promise<void>;
}

/** The metadata step (Slack) and nonce step (Discord) of a job's status message. */
export const STATUS_STEP = 'status:posted';

/** A gateway gives up its own launch this long after the claim: the recovery sweep takes over after `RECOVER_AFTER_MS`. */
export const LAUNCH_DEADLINE_MS = 20_000;

/** A record this old whose gateway has not queued its job is the recovery sweep's. */
export const RECOVER_AFTER_MS = 60_000;

/** The moments between a claim and a cleared record, where a crash test stops a gateway. */
export type IntakePoint = 'claimed' | 'admitted' | 'posted' | 'queued';

/** For crash tests only: runs at each intake point of a launch (no configuration sets it). */
export type IntakeHook = (requestKey: string, point: IntakePoint) => Promise<void> | void;
