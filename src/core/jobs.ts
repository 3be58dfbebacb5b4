import type { Place } from './access.js';
import type { AdmissionRefusal, Requester, Spend, Waiting } from './budget.js';
import type { IntakeRecord } from './intake.js';
import type { Micros } from './money.js';
import type { ChatRequest, ImageRequest, SourceImage } from './requests.js';

/** Where a job came from and where its result goes. Everything delivery needs travels in the job. */
export type DeliveryTarget = SlackTarget | DiscordTarget | CliTarget | WebTarget;

export interface SlackTarget {
  platform: 'slack';
  /** The Slack team (workspace) id. */
  workspaceId: string;
  channelId: string;
  userId: string;
  /** The ts of the thread's parent: results go into its thread. */
  parentTs: string;
  /** The message whose status is kept current, when it is not the parent (a follow-up's, in the thread). */
  statusTs?: string;
  /** The job was asked in an assistant thread (Slack's AI app view): its progress also shows as the thread's status. */
  assistant?: true;
}

export interface DiscordTarget {
  platform: 'discord';
  /** The Discord server (guild) id; empty in a DM. */
  workspaceId: string;
  /** The channel of the status message. */
  channelId: string;
  userId: string;
  /** The message whose content is the status: the interaction's original response, or the bot's reply to a mention. */
  statusMessageId: string;
  /** Where results go: the thread made for a mention, else the status message's channel. */
  resultChannelId: string;
  /** Application commands: the interaction's webhook, usable without the bot token until it expires (15 minutes). */
  interaction?: DiscordInteractionRef;
  /** Largest file Discord accepts here, in bytes (the interaction's `attachment_size_limit`, else 10 MiB). */
  attachmentLimit: number;
  /**
   * Used through a person's own install where the bot is not a member: everything goes through the interaction's
   * webhook (never the channel), and what comes after the token expires goes to the person's DM with the bot.
   */
  userInstall?: boolean;
  /**
   * A user install's status that a worker's recovery had to post in the person's DM with the bot (the interaction
   * was never answered, or its token no longer worked): that DM channel's id. The status is edited there, and the
   * results follow it there.
   */
  statusInDm?: string;
}

/**
 * An interaction's webhook. The token itself lives only in memory (the gateway's target) and under its own Redis
 * key that expires with it: job data, which Redis keeps for days and the queue board shows, carries `tokenRef`.
 */
export interface DiscordInteractionRef {
  applicationId: string;
  /** When Discord stops accepting the token (ms since the epoch). */
  expiresAt: number;
  token?: string;
  /** Where `InteractionTokens` finds the token until it expires. */
  tokenRef?: string;
}

/** Interaction tokens kept apart from job data, each until it expires. */
export interface InteractionTokens {
  /** The token, or undefined once it has expired. */
  get(ref: string): Promise<string | undefined>;
}

export interface CliTarget {
  platform: 'cli';
  /** Who ran it, for the ledger (the OS user name). */
  userId: string;
}

/** A job asked from the web playground: its events go to the asking browser session's stream. */
export interface WebTarget {
  platform: 'web';
  /** The browser session whose event stream shows the job (never sent to a browser). */
  sessionId: string;
  /** The web user: `web:<login name>`, or a random id per browser session on a loopback-only server. */
  userId: string;
  /** The web has one place: every web job is in the `web` workspace and channel. */
  channelId: 'web';
  /** The message in the page that this job's events update (the browser's request id). */
  messageId: string;
}

/** Who asked for a job and where, as the ledger and budgets count it. */
export function requesterOf(target: DeliveryTarget): Requester {
  switch (target.platform) {
    case 'slack':
      return {
        platform: 'slack',
        workspaceId: storedWorkspaceId(target),
        channelId: target.channelId,
        userId: target.userId,
      };
    case 'discord':
      return {
        platform: 'discord',
        workspaceId: storedWorkspaceId(target),
        channelId: target.channelId,
        userId: target.userId,
      };
    case 'web':
      return { platform: 'web', workspaceId: 'web', channelId: 'web', userId: target.userId };
    case 'cli':
      return { platform: 'cli', workspaceId: '', channelId: '', userId: target.userId };
  }
}

/**
 * The workspace of a target read back from Redis. Jobs queued by lorabot 0.8 name it `teamId` (Slack) or `guildId`
 * (Discord); jobs live at most 168 hours (`queue.keep_failed_hours`), so this reader can go in the release after
 * 0.9.
 */
function storedWorkspaceId(target: SlackTarget | DiscordTarget): string {
  const stored = target as Partial<SlackTarget | DiscordTarget> & { teamId?: string; guildId?: string };
  return stored.workspaceId ?? stored.teamId ?? stored.guildId ?? '';
}

interface JobCommon {
  /** The command as the user typed it (formatted back from the request). */
  command: string;
  /** For a follow-up in a conversation: which earlier messages were sent as context, said publicly. */
  context?: string;
  /** Chat jobs in a conversation: where its turns are kept, so the next follow-up carries this one. */
  conversation?: ConversationRef;
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

/** A conversation's key and the other platform message ids that lead to it (replies to them continue it). */
export interface ConversationRef {
  key: string;
  /** Message ids a reply may point at (Discord), besides the key itself. */
  aliases: string[];
}

/** One turn of a conversation, as kept between jobs. */
export interface ConversationTurn {
  role: 'user' | 'assistant';
  content: string;
  /** Who asked, and the chat model preset asked (user turns). */
  userId?: string;
  model?: string;
  /** The pictures the question was about (user turns): a follow-up sends the newest of them again. */
  images?: SourceImage[];
}

/** What a status message shows about its job, besides the status itself. */
export interface JobView {
  jobId: string;
  kind: 'flux' | 'ask';
  command: string;
  context?: string;
  /** An image request: how many images it makes. */
  images?: number;
}

export function jobView(jobId: string, data: JobData): JobView {
  return {
    jobId,
    kind: data.kind,
    command: data.command,
    ...(data.context ? { context: data.context } : {}),
    ...(data.kind === 'flux' ? { images: data.request.n } : {}),
  };
}

/** How a user wants to hear that a job finished: a mention in its thread (default), a DM, or not at all. */
export type NotifyMode = 'thread' | 'dm' | 'off';

/** What a finished job returns (and what `lorabot run` reads). */
export interface JobOutcome {
  kind: 'flux' | 'ask';
  costMicros: Micros;
  costText: string;
  /** Image jobs: the images, base64, when the target is the CLI; `fileName` as `imageFileName` makes it. */
  images?: Array<{ mimeType: string; base64: string; fileName?: string }>;
  /** Chat jobs: the answer. */
  text?: string;
}

/** The status line of the parent message. */
export type JobStatus =
  | { state: 'queued'; position: number }
  | { state: 'running' }
  | { state: 'done'; costText: string }
  | { state: 'failed'; reason: string }
  | { state: 'cancelled'; by: string };

export type {
  AnswerStreaming,
  Deliverer,
  EndedJob,
  FinalAnswer,
  ImageCaption,
  Notice,
  StepPost,
  StepRunner,
  WatchDelivery,
} from './delivery.js';

/** The gateway's view of the queue: claim a platform request once, see the line, add the job. */
export interface JobQueue {
  /**
   * True the first time a platform request id is seen; false for a redelivery. The first claim writes the intake
   * record, if given, in the same step: what a worker queues the job from if the gateway stops before it does.
   */
  claim(requestKey: string, record?: IntakeRecord): Promise<boolean>;
  /** The job is queued, or the request was refused: the intake record goes, the claim stays. */
  settle(requestKey: string): Promise<void>;
  /** The request could not be queued: the claim and the record go, so it may be tried again. */
  release(requestKey: string): Promise<void>;
  /** The place a new job of `priority` (BullMQ's: 1 first; none: plain FIFO) would take in its queue (1: next). */
  position(kind: JobData['kind'], priority?: number): Promise<number>;
  enqueue(jobId: string, data: JobData, options?: { priority?: number }): Promise<unknown>;
  /** A job's data and where it is, while it is known (queued, running, or kept after it ended). */
  find(jobId: string): Promise<FoundJob | undefined>;
  /** Removes a queued job, or tells the worker running it to stop (the worker then reports it cancelled). */
  cancel(jobId: string, by: string): Promise<CancelOutcome>;
  /** A user's queued and running jobs, oldest first. */
  jobsOf(requester: Requester): Promise<ListedJob[]>;
}

export interface FoundJob {
  data: JobData;
  state: 'queued' | 'running' | 'ended';
}

/** `removed`: it was still queued and is gone; `stopping`: the worker was told to abort it; `ended`: too late. */
export type CancelOutcome = 'removed' | 'stopping' | 'ended' | 'unknown';

export interface ListedJob {
  jobId: string;
  data: JobData;
  state: 'queued' | 'running';
  /** Place in its queue (1: next); 0 while running. */
  position: number;
  /** Rough seconds until it is done, from recent jobs' durations; undefined when there is no history yet. */
  etaSeconds: number | undefined;
}

/** What the gateways keep between one interaction and the next: preferences, confirmations, conversations. */
export interface GatewayState {
  notifyMode(requester: Requester): Promise<NotifyMode>;
  setNotifyMode(requester: Requester, mode: NotifyMode): Promise<void>;
  /** Keeps a command awaiting Run/Cancel for `ttlSeconds`; `take` returns it once. */
  putPending(id: string, pending: PendingCommand, ttlSeconds: number): Promise<void>;
  takePending(id: string): Promise<PendingCommand | undefined>;
  /** The conversation a thread or a replied-to message belongs to. */
  findConversation(platform: Requester['platform'], keyOrAlias: string): Promise<string | undefined>;
  conversationTurns(key: string): Promise<ConversationTurn[]>;
  /**
   * Threads where every message is a request (Slack's assistant threads), kept for `ttlSeconds` after they open:
   * a message in any other thread is answered only when it continues a conversation.
   */
  openRequestThread(platform: Requester['platform'], threadRef: string, ttlSeconds: number): Promise<void>;
  isRequestThread(platform: Requester['platform'], threadRef: string): Promise<boolean>;
}

/** A command that waits for its requester to press Run. */
export interface PendingCommand {
  requester: Requester;
  /** Where it was asked, for presets limited to channels. */
  place: Place;
  /** The command text as typed, parsed again on Run (settings may have changed in between). */
  kind: 'flux' | 'ask';
  text: string;
  /** A follow-up in a conversation: which one, and the platform's thread its status goes in. */
  followUp?: { conversationKey: string; threadId: string };
  /**
   * Images the text cannot carry (a result, a Slack file, an attachment): on Run, a question's are added to the
   * images its text names; an image request's (Vary, Edit) replace them.
   */
  images?: SourceImage[];
  /** An editor waiting for its prompt (Edit), not a confirmation: Run does not take it. */
  editor?: true;
}

/** An admitted request: its estimate is reserved, and it counts among its requester's jobs. */
export type Admission = { ok: true; priority: number } | { ok: false; refusal: AdmissionRefusal };

/**
 * Admission of requests, atomic across every gateway: a request is admitted only if its estimate fits every
 * budget on top of what was spent and what admitted requests are waiting to spend, and its requester has fewer
 * jobs waiting or running than the cap. What it holds is given back exactly once, when its job ends.
 */
export interface JobAdmission {
  /**
   * Reserves `estimate` against the requester's budgets and counts the job among theirs, or says why not. The
   * priority grows with the requester's jobs already waiting or running, so another person's job goes first.
   */
  admit(
    jobId: string,
    request: { requester: Requester; kind: JobData['kind']; estimate: Micros; now: number },
  ): Promise<Admission>;
  /** Gives back what `admit` took, for a job that will not run (cancelled while queued, or never queued). */
  release(jobId: string): Promise<void>;
  /** What admitted requests not yet finished are waiting to spend in the requester's scopes. */
  waiting(requester: Requester): Promise<Waiting>;
}

/** Reads what has been spent, for budgets and `/flux usage`. */
export interface SpendReader {
  spend(requester: Requester, now: number): Promise<Spend>;
}
