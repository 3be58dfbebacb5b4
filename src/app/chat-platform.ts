import type { Place } from '../core/access.js';
import type { Requester } from '../core/budget.js';
import type { WatchView } from '../core/finetune.js';
import type { PostedStatus, StatusOrigin } from '../core/intake.js';
import type { DeliveryTarget, JobStatus, JobView, ListedJob } from '../core/jobs.js';
import type { SourceImage } from '../core/requests.js';

/**
 * The inbound port: what a chat platform does for the one inbound service, and the platform-neutral event an
 * adapter translates an SDK event into. The outbound mirror is `Deliverer` in `core/jobs.ts`.
 *
 * An adapter builds one `ChatPlatform` per event, around the SDK's objects for it (Slack's `respond`, a Discord
 * interaction or message, a web session), and hands it with the event to `InboundService.handle`. Text given to
 * the port is plain: the adapter escapes and formats it for its platform.
 */

/**
 * How an event arrived; the `entry` label of `lorabot_commands_total`. `message-action`: "Edit with lorabot" on a
 * message (Discord's message command, Slack's message shortcut); `editor`: an edit's prompt submitted from its form;
 * `assistant`: a message in a Slack assistant thread.
 */
export type Entry =
  | 'slash'
  | 'mention'
  | 'dm'
  | 'thread'
  | 'button'
  | 'message-action'
  | 'editor'
  | 'assistant'
  | 'cli'
  | 'web';

/**
 * The buttons lorabot shows: Run and Cancel on a confirmation; Cancel, Regenerate, Vary, Edit and Details on a
 * job.
 */
export type PressAction =
  | 'run'
  | 'dismiss'
  | 'cancel'
  | 'regenerate'
  | 'vary'
  | 'edit'
  | 'details'
  /** 👀 Watch on a watch's status message: the id is the Together job's. */
  | 'watch'
  /** Add as model on a watch's end notice (admins): the id is the Together job's. */
  | 'add-model';

/** What the person typed or pressed. */
export type InboundInput =
  /**
   * `/flux …` or `/ask …`: the text after the command name, unescaped. `images`: files attached to the message
   * (a Discord mention or DM), each with what the platform says of it; the service checks them.
   */
  | { type: 'command'; kind: 'flux' | 'ask'; text: string; images?: SourceImage[] }
  /**
   * A whole typed line, where there is no slash-command menu (the web playground, `lorabot run`): `/flux …`,
   * `/ask …`, or a bare `help`, `presets`, `usage`, `jobs`, `models` or `notify …`. `images`: images sent with
   * the line (the playground's uploads), as a command's attachments.
   */
  | { type: 'line'; text: string; images?: SourceImage[] }
  /**
   * A message that continues a conversation (`InboundService.findConversation` tells which). `threadId` is the
   * platform's thread the status goes in (Slack thread ts); `images`: files attached to the message, as above.
   */
  | {
      type: 'follow-up';
      conversationKey: string;
      threadId: string;
      question: string;
      images?: SourceImage[];
    }
  /** A button: `id` is the button's value (a job id or a confirmation id). */
  | { type: 'press'; action: PressAction; id: string }
  /**
   * "Edit with lorabot" on someone's message: the images it carries (none: the person is told so), which the
   * editor then starts from.
   */
  | { type: 'edit-message'; images: SourceImage[] }
  /**
   * An editor's form submitted: `draftId` is the editor's (`Editor.draftId`), which holds the images; `text` is
   * what the person wrote, read as `/flux` text (a prompt and any options).
   */
  | { type: 'edit'; draftId: string; text: string }
  /** The Add as model form submitted: the watch whose output model it names, and what the admin wrote. */
  | { type: 'add-model'; watchId: string; name: string; systemPrompt: string; maxTokens: string };

/** One thing a person did, as the adapter translated it. */
export interface InboundEvent {
  /** Who, for budgets, the ledger and ownership (a Slack Connect partner: their own workspace). */
  requester: Requester;
  /** Where, for the access rules and presets limited to channels. */
  place: Place;
  /** The platform's id for this request, unique per delivery and the same on a redelivery; a valid job id. */
  requestId: string;
  /** When the platform delivered it (ms since the epoch). */
  receivedAt: number;
  entry: Entry;
  input: InboundInput;
}

export type { PostedStatus } from '../core/intake.js';

/** How a confirmation ended: Run pressed (the job follows), Cancel pressed, or it was no longer there. */
export type ConfirmationEnd = 'running' | 'dismissed' | 'expired';

/** A form that asks for an edit's prompt (Edit, "Edit with lorabot"); what is submitted comes back as an `edit`. */
export interface Editor {
  /** Where the images and who asked are kept until the form is submitted (15 minutes). */
  draftId: string;
  /** The text the form opens with: the result's prompt and options, or empty. */
  text: string;
  /** How many images it starts from. */
  images: number;
}

/** The Add as model form: the watch it came from, the model id it adds, and the name it suggests. */
export interface ModelForm {
  watchId: string;
  modelId: string;
  name: string;
}

/** What a platform does for one inbound event. Methods other than `postStatus` never throw. */
export interface ChatPlatform {
  /**
   * Meets the platform's deadline before the service does any I/O (Slack: the empty ack); may do nothing.
   * `private`: only a private answer follows (nothing public), for a platform that fixes the privacy of what it
   * shows while the service works (a Discord user install's deferral is public, its status taking its place).
   */
  ack(expected?: 'private'): Promise<void>;
  /** Tells the person privately (or as privately as the platform allows). */
  tell(text: string): Promise<void>;
  /** Asks Run / Cancel before a costly request; the buttons carry `pendingId`. */
  askToConfirm(question: string, command: string, pendingId: string): Promise<void>;
  /** Answers a press on a confirmation's button: replaces the question with `text` where the platform can. */
  closeConfirmation(end: ConfirmationEnd, text: string): Promise<void>;
  /**
   * Posts the visible status message of a job about to be queued: in `threadId` when given (a follow-up), else
   * where the event came from. Throws when the platform refuses; `failureText` may say why.
   */
  postStatus(view: JobView, status: JobStatus, threadId?: string): Promise<PostedStatus>;
  /**
   * Where `postStatus` would post, for the claim's intake record: a worker posts the status from it when the
   * gateway stops before queueing the job. Absent where nobody else can answer (the command line waits in-process).
   */
  statusOrigin?(view: JobView, threadId?: string): StatusOrigin;
  /** Sets the status of a job this platform posted (a failed launch, a job cancelled while queued). */
  updateStatus(target: DeliveryTarget, view: JobView, status: JobStatus): Promise<void>;
  /** `/flux jobs`: the person's jobs, each line with a Cancel button. */
  showJobs(jobs: readonly ListedJob[], lines: readonly string[]): Promise<void>;
  /**
   * Opens the editor as the answer to this event (Slack: a modal by the trigger id; Discord: a modal response;
   * the web: a form under the message). Absent where there is no form to show (the command line).
   */
  openEditor?(editor: Editor): Promise<void>;
  /**
   * Posts a watch's status message where the event came from (`/ask watch`), with the Watch button; the poller
   * keeps it current through the platform's `Deliverer.watch`. Absent where watches cannot be shown.
   */
  postWatch?(view: WatchView): Promise<DeliveryTarget>;
  /** Opens the Add as model form (name, system prompt, max_tokens); it comes back as an `add-model` input. */
  openModelForm?(form: ModelForm): Promise<void>;
  /** A message a person can act on for a platform error (e.g. the bot is not in the channel), if it knows one. */
  failureText?(error: unknown): string | undefined;
}
