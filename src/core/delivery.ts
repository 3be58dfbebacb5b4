import type { WatchNotice, WatchView } from './finetune.js';
import type { NamedImage } from './image-files.js';
import type { DeliveryTarget, JobStatus, JobView, NotifyMode } from './jobs.js';

/*
 * The outbound port: what a platform adapter does to show a job's progress and results, and what the worker's
 * journal hands it so each visible message is posted once.
 */

/**
 * What a platform adapter does to show a job's progress and results. Each method may be called again after a
 * crash or retry; the worker records finished steps so each visible message is posted once.
 */
export interface Deliverer<Target extends DeliveryTarget = DeliveryTarget> {
  updateStatus(target: Target, view: JobView, status: JobStatus): Promise<void>;
  /**
   * Uploads the images under their `fileName` (see `imageFileName`), with their `mimeType`; on a retry of `post`,
   * the upload an earlier attempt made is found or completed instead of made again. A platform that shows them in
   * one card puts the `caption` (prompt, seed, cost, the result's buttons) beside them.
   */
  postImages(
    target: Target,
    images: ReadonlyArray<NamedImage>,
    post: StepPost,
    caption?: ImageCaption,
  ): Promise<void>;
  /**
   * Posts an answer, in several messages if it is long; each piece is its own step. With `streamed`, the first
   * piece replaces the text of that already posted (streamed) message instead of being posted anew.
   */
  postAnswer(target: Target, text: string, steps: StepRunner, streamed?: string): Promise<void>;
  /** A new message that mentions the requester (edits notify no one), in the thread or as a DM; once per `post`. */
  notify(target: Target, notice: Notice, via: Exclude<NotifyMode, 'off'>, post: StepPost): Promise<void>;
  /** Platforms that show an answer as it is generated, by editing one message. */
  streaming?: AnswerStreaming<Target>;
  /**
   * Platforms whose answer carries its cost and a way to rate it (Slack): used instead of `postAnswer` for a
   * finished answer. Each piece is its own step, as with `postAnswer`.
   */
  postFinalAnswer?(target: Target, answer: FinalAnswer): Promise<void>;
  /** Once per job, when it has ended: what the platform keeps of it for the person (Slack's Home tab). */
  jobEnded?(target: Target, ended: EndedJob): Promise<void>;
  /** Platforms where `/ask watch` can be used: the watch's status message and its end notice. */
  watch?: WatchDelivery<Target>;
}

/** A finished answer, with what a platform may show beside it. */
export interface FinalAnswer {
  jobId: string;
  text: string;
  /** The cost line, e.g. `Cost: $0.000054 (123 in + 177 out tokens)`. */
  costText: string;
  steps: StepRunner;
  /** The message the answer was streamed into (`AnswerStreaming.open`), if any. */
  streamed?: string;
}

/** A job that has ended, as a person's list of recent jobs shows it. */
export interface EndedJob {
  jobId: string;
  kind: 'flux' | 'ask';
  command: string;
  end: 'done' | 'failed' | 'cancelled';
  /** The cost line of a job that was charged. */
  costText?: string;
  /** When it ended (ms since the epoch). */
  at: number;
}

/** What an image result says beside its images. */
export interface ImageCaption {
  view: JobView;
  /** The prompt as the user wrote it: text from a user, to be escaped. */
  prompt: string;
  /** The seed, when the request fixed one. */
  seed?: number;
  costText: string;
}

/** A watched Together job's messages: its status kept current, and one notice when it ends. */
export interface WatchDelivery<Target extends DeliveryTarget> {
  /** Edits the status message the gateway posted (`ChatPlatform.postWatch`). */
  show(target: Target, view: WatchView): Promise<void>;
  /** A new message that mentions every watcher, with Add as model when offered. */
  announce(target: Target, notice: WatchNotice): Promise<void>;
}

export interface AnswerStreaming<Target extends DeliveryTarget> {
  /** The shortest time between two edits of one message that the platform allows. */
  readonly editIntervalMs: number;
  /** Posts the message the answer will grow in (once per `post`); returns its id (Slack ts, Discord message id). */
  open(target: Target, post: StepPost): Promise<string>;
  /** Shows the answer so far in that message. */
  preview(target: Target, messageId: string, partial: string): Promise<void>;
  /** The least time between two previews of this message, when it differs from `editIntervalMs`. */
  intervalFor?(messageId: string): number;
}

/**
 * Runs a named step at most once to completion for the current job. `run` learns which step it is and whether an
 * earlier attempt began it without finishing (a worker stopped between the platform's answer and the journal).
 */
export interface StepRunner {
  once(step: string, run: (post: StepPost) => Promise<void>): Promise<void>;
  /** Like `once`, for a step that yields a value (a posted message's id): later runs get the first value. */
  value(step: string, run: (post: StepPost) => Promise<string>): Promise<string>;
}

/**
 * The journal step a platform post belongs to. A deliverer marks the post with it (Slack message metadata, a
 * Discord nonce) and, only when `retry` says an earlier attempt began the step, looks for that post before
 * posting again: the normal path costs no extra platform call.
 */
export interface StepPost {
  job: string;
  step: string;
  retry: boolean;
  /** The job's journal, for a post made of parts (an upload's file ids, kept before the upload is completed). */
  steps: StepRunner;
}

export interface Notice {
  ok: boolean;
  kind: 'flux' | 'ask';
  /** A cost line (success) or a reason a person can act on (failure). */
  text: string;
}
