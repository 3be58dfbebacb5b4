import {
  type APIModalInteractionResponseCallbackData,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type InteractionReplyOptions,
  type Message,
  type MessageContextMenuCommandInteraction,
  MessageFlags,
  type MessageReplyOptions,
  type ModalSubmitInteraction,
} from 'discord.js';
import type * as Port from '../../app/chat-platform.js';
import type { WatchView } from '../../core/finetune.js';
import { type DiscordInteractionOrigin, type DiscordMessageOrigin, STATUS_STEP } from '../../core/intake.js';
import type { DeliveryTarget, DiscordTarget, JobStatus, JobView, ListedJob } from '../../core/jobs.js';
import type { DiscordDeliverer } from './discord-deliverer.js';
import {
  buttonRow,
  codeSpan,
  editorModal,
  NO_MENTIONS,
  statusComponents,
  statusContent,
} from './discord-format.js';
import { nonceOf } from './discord-messages.js';
import { ANSWERED_PRIVATELY, discordPosted, messageTarget, threadName } from './discord-status.js';
import { modelFormModal, watchBody } from './discord-watch.js';
import { USER_INSTALL_CHANNEL } from './user-install.js';

/**
 * An interaction that can start a job: a slash command, a button (Run, Regenerate, Vary, Edit), "Edit with
 * lorabot" on a message, or an editor's submitted modal.
 */
export type StartingInteraction =
  | ChatInputCommandInteraction
  | ButtonInteraction
  | MessageContextMenuCommandInteraction
  | ModalSubmitInteraction;

/** A private answer: text, and buttons when there are any. */
type DiscordAnswer = Pick<
  InteractionReplyOptions & MessageReplyOptions,
  'content' | 'components' | 'allowedMentions'
>;

/** Discord's upload limit where the interaction does not say (`attachment_size_limit`). */
const DEFAULT_ATTACHMENT_LIMIT = 10 * 1024 * 1024;
/** The private deferred response's content while the public status is posted (removed right after). */
const QUEUED = 'Queued.';
/** An interaction token is valid this long. */
const TOKEN_LIFETIME_MS = 15 * 60_000;

/** What both Discord ports share: status edits through the deliverer, and the status message's body. */
abstract class DiscordPlatformBase implements Port.ChatPlatform {
  constructor(protected readonly deliverer: DiscordDeliverer) {}

  async ack(): Promise<void> {
    // Interactions are answered (or deferred) by their first reply; messages have no deadline.
  }

  abstract closeConfirmation(end: Port.ConfirmationEnd, text: string): Promise<void>;
  abstract postStatus(view: JobView, status: JobStatus, threadId?: string): Promise<Port.PostedStatus>;
  /** Answers the person as privately as this entry point allows; never throws. */
  protected abstract answer(options: DiscordAnswer): Promise<void>;

  async tell(text: string): Promise<void> {
    await this.answer({ content: text, allowedMentions: NO_MENTIONS });
  }

  async askToConfirm(question: string, command: string, pendingId: string): Promise<void> {
    await this.answer(confirmReply(question, command, pendingId));
  }

  async showJobs(jobs: readonly ListedJob[], lines: readonly string[]): Promise<void> {
    await this.answer(jobsReply(jobs, lines));
  }

  async updateStatus(target: DeliveryTarget, view: JobView, status: JobStatus): Promise<void> {
    if (target.platform === 'discord') await this.deliverer.updateStatus(target, view, status);
  }

  protected statusBody(userId: string, view: JobView, status: JobStatus) {
    return {
      content: statusContent(userId, view, status),
      components: statusComponents(view, status),
      allowedMentions: NO_MENTIONS,
    };
  }
}

/**
 * The inbound port for an interaction. A slash command (or a submitted modal) is deferred in `ack()`, before any
 * I/O, so Discord's 3-second deadline is met however slow budgets, claims and the queue are. Discord fixes a
 * response's privacy when it is deferred, and a follow-up sent while the deferral still "thinks" takes its place
 * and its privacy. Where the bot is in the channel, most early answers (errors, budgets, Run / Cancel, usage,
 * jobs) are private, so the deferral is private and a private answer takes its place; a job's public status is a
 * follow-up: the deferred response is filled first, the status posted, and the private response removed (a
 * worker's recovery finds that status among the channel's messages). A user install's channel cannot be read, so
 * there the deferral of what may start a job is public and the status is the deferred response itself, which
 * Discord makes once per interaction and which is edited in place: a recovery edits it again instead of posting a
 * second status. A private answer there removes the public deferral first, then follows up privately. A button
 * is answered by its first reply, as before. The job keeps the interaction's token to deliver through its webhook
 * for 15 minutes.
 * @see https://discord.com/developers/docs/interactions/receiving-and-responding#create-followup-message
 * @see https://discord.com/developers/docs/interactions/receiving-and-responding#delete-original-interaction-response
 */
export class DiscordInteractionPlatform extends DiscordPlatformBase {
  /** A slash command's deferred response: not made, "thinking" privately or publicly, or used. */
  private deferred: 'no' | 'private' | 'public' | 'used' = 'no';

  /** `userInstall`: used through a person's own install where the bot is not a member (see `DiscordTarget`). */
  constructor(
    private readonly interaction: StartingInteraction,
    deliverer: DiscordDeliverer,
    private readonly where: { userInstall: boolean } = { userInstall: false },
  ) {
    super(deliverer);
  }

  override async ack(expected?: 'private'): Promise<void> {
    const interaction = this.interaction;
    // Buttons and message commands are answered by their first reply, which may be a modal (never after a deferral).
    if (!(interaction.isChatInputCommand() || interaction.isModalSubmit())) return;
    if (interaction.deferred || interaction.replied) return;
    if (this.where.userInstall && expected !== 'private') {
      await interaction.deferReply();
      this.deferred = 'public';
      return;
    }
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    this.deferred = 'private';
  }

  async closeConfirmation(end: Port.ConfirmationEnd, text: string): Promise<void> {
    // Run: the status reply that follows is the answer. Cancel: the question turns into the answer.
    if (end === 'running') return;
    const interaction = this.interaction;
    if (end === 'dismissed' && interaction.isButton() && !interaction.replied && !interaction.deferred) {
      await interaction.update({ content: text, components: [] }).catch(() => undefined);
      return;
    }
    await this.tell(text);
  }

  /** The modal response: it must be the interaction's first answer. */
  async openEditor(editor: Port.Editor): Promise<void> {
    await this.showModal(editorModal(editor), 'Discord did not open the editor in time. Try again.');
  }

  /** The Add as model modal: the press's first answer. */
  async openModelForm(form: Port.ModelForm): Promise<void> {
    await this.showModal(
      modelFormModal(form),
      'Discord did not open the form in time. Press Add as model again.',
    );
  }

  /** Shows a modal as the interaction's first answer, or tells `failure` when it can no longer be shown. */
  private async showModal(modal: object, failure: string): Promise<void> {
    const interaction = this.interaction;
    const opened =
      'showModal' in interaction && !interaction.deferred && !interaction.replied
        ? interaction.showModal(modal as APIModalInteractionResponseCallbackData)
        : Promise.reject(new Error('this interaction cannot open a modal'));
    await opened.catch(() => this.tell(failure));
  }

  async postWatch(view: WatchView): Promise<DeliveryTarget> {
    const interaction = this.interaction;
    const reply = await this.publicReply(watchBody(view));
    return watchTarget(reply, interaction.user.id, interaction.guildId ?? '');
  }

  async postStatus(view: JobView, status: JobStatus): Promise<Port.PostedStatus> {
    const interaction = this.interaction;
    const reply = await this.publicReply(this.statusBody(interaction.user.id, view, status));
    return discordPosted({ ...this.statusOrigin().target, statusMessageId: reply.id });
  }

  statusOrigin(): DiscordInteractionOrigin {
    const interaction = this.interaction;
    const channelId = interaction.channelId ?? '';
    const userInstall = this.where.userInstall;
    return {
      platform: 'discord',
      via: 'interaction',
      interactionId: interaction.id,
      target: {
        platform: 'discord',
        workspaceId: interaction.guildId ?? '',
        // A user install is recorded (budgets, ledger) under its own channel: the bot is in none there.
        channelId: userInstall ? USER_INSTALL_CHANNEL : channelId,
        userId: interaction.user.id,
        resultChannelId: channelId,
        interaction: {
          applicationId: interaction.applicationId,
          token: interaction.token,
          expiresAt: interaction.createdTimestamp + TOKEN_LIFETIME_MS,
        },
        attachmentLimit: interaction.attachmentSizeLimit ?? DEFAULT_ATTACHMENT_LIMIT,
        ...(userInstall ? { userInstall } : {}),
      },
    };
  }

  /**
   * A message everyone in the channel sees: the interaction's response (a public deferral's, filled), or a
   * follow-up after a private deferral.
   */
  private async publicReply(body: PublicBody): Promise<Message> {
    const interaction = this.interaction;
    if (this.deferred === 'no' || this.deferred === 'public') {
      if (!interaction.deferred && !interaction.replied) await interaction.deferReply();
      this.deferred = 'used';
      return interaction.editReply(body);
    }
    const placeholder = this.deferred === 'private';
    if (placeholder) {
      await interaction.editReply({ content: QUEUED, allowedMentions: NO_MENTIONS });
      this.deferred = 'used';
    }
    const reply = await interaction.followUp(body);
    // Only the requester saw "Queued." for a moment; the status says it to everyone.
    if (placeholder) await interaction.deleteReply().catch(() => undefined);
    return reply;
  }

  protected async answer(options: DiscordAnswer): Promise<void> {
    const interaction = this.interaction;
    const reply = { ...options, flags: MessageFlags.Ephemeral } as const;
    let sent: Promise<unknown>;
    if (this.deferred === 'private') {
      // The private deferred response becomes the answer.
      this.deferred = 'used';
      sent = interaction.editReply(options);
    } else if (this.deferred === 'public') {
      this.deferred = 'used';
      sent = this.answerAfterPublicDeferral(reply);
    } else {
      sent =
        interaction.replied || interaction.deferred ? interaction.followUp(reply) : interaction.reply(reply);
    }
    await sent.catch(() => undefined);
  }

  /**
   * A private answer where the deferral is public (a user install): the deferral is resolved first, removed (or,
   * if Discord will not remove it, filled with a neutral line), since a follow-up to a deferral that still thinks
   * takes its place and stays public whatever its flags; then the answer follows up privately. Should Discord
   * still make it public, it is removed at once.
   * @see https://github.com/discord/discord-api-docs/issues/2739
   */
  private async answerAfterPublicDeferral(reply: DiscordAnswer & { flags: MessageFlags.Ephemeral }) {
    const interaction = this.interaction;
    await interaction
      .deleteReply()
      .catch(() => interaction.editReply({ content: ANSWERED_PRIVATELY, allowedMentions: NO_MENTIONS }));
    const sent = await interaction.followUp(reply);
    if (!sent.flags.has(MessageFlags.Ephemeral)) await interaction.deleteReply(sent);
  }
}

/**
 * The inbound port for a mention or a DM. A message cannot be answered privately, so answers are replies to it;
 * a job's status is a reply too, and in a server channel a thread on it carries the results.
 */
export class DiscordMessagePlatform extends DiscordPlatformBase {
  constructor(
    private readonly message: Message,
    deliverer: DiscordDeliverer,
  ) {
    super(deliverer);
  }

  async closeConfirmation(_end: Port.ConfirmationEnd, text: string): Promise<void> {
    await this.tell(text);
  }

  async postWatch(view: WatchView): Promise<DeliveryTarget> {
    const message = this.message;
    const reply = await message.reply(watchBody(view));
    return watchTarget(reply, message.author.id, message.guildId ?? '');
  }

  /** A reply to the message, with a nonce from its job (`enforce_nonce`): a worker recovering the job gets it back. */
  async postStatus(view: JobView, status: JobStatus): Promise<Port.PostedStatus> {
    const origin = this.statusOrigin(view);
    const { nonce } = nonceOf({ job: view.jobId, step: STATUS_STEP });
    const body = { ...this.statusBody(origin.userId, view, status), nonce: nonce!, enforceNonce: true };
    const reply = await this.message.reply(body);
    let resultChannelId = origin.channelId;
    if (origin.thread && reply.channel.isTextBased() && !reply.channel.isThread()) {
      try {
        const thread = await reply.startThread({ name: origin.threadName, autoArchiveDuration: 1440 });
        resultChannelId = thread.id;
      } catch {
        // No permission to make threads here: the results go into the channel instead.
      }
    }
    return discordPosted(messageTarget(origin, reply.id, resultChannelId));
  }

  statusOrigin(view: JobView): DiscordMessageOrigin {
    const message = this.message;
    return {
      platform: 'discord',
      via: 'message',
      workspaceId: message.guildId ?? '',
      channelId: message.channelId,
      userId: message.author.id,
      messageId: message.id,
      thread: message.guildId !== null && !message.channel.isThread(),
      threadName: threadName(view.command),
    };
  }

  protected async answer(options: DiscordAnswer): Promise<void> {
    await this.message.reply(options).catch(() => undefined);
  }
}

/** A public message's body: a job's status or a watch's. */
type PublicBody = Pick<InteractionReplyOptions, 'content' | 'components' | 'allowedMentions'>;

/** Where a watch's status message is: edited and answered in its channel with the bot token (a watch outlives tokens). */
function watchTarget(reply: Message, userId: string, workspaceId: string): DiscordTarget {
  return {
    platform: 'discord',
    workspaceId,
    channelId: reply.channelId,
    userId,
    statusMessageId: reply.id,
    resultChannelId: reply.channelId,
    attachmentLimit: DEFAULT_ATTACHMENT_LIMIT,
  };
}

/** The Run / Cancel question for a costly request. */
function confirmReply(question: string, command: string, pendingId: string) {
  return {
    content: `${question}\n${codeSpan(command, 1500)}`,
    components: [
      buttonRow([
        { label: 'Run', action: 'run', value: pendingId, style: 'primary' },
        { label: 'Cancel', action: 'dismiss', value: pendingId },
      ]),
    ],
    allowedMentions: NO_MENTIONS,
  };
}

/** `/flux jobs`: the requester's jobs, each with a Cancel button (5 rows of buttons at most). */
function jobsReply(jobs: readonly ListedJob[], lines: readonly string[]) {
  const shown = jobs.slice(0, 5);
  return {
    content: ['Your jobs:', ...shown.map((_, i) => `${i + 1}. ${codeSpan(lines[i]!, 300)}`)].join('\n'),
    components: shown.map((job, i) =>
      buttonRow([{ label: `Cancel ${i + 1}`, action: 'cancel', value: job.jobId, style: 'danger' }]),
    ),
    allowedMentions: NO_MENTIONS,
  };
}
