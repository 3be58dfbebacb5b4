import { DiscordAPIError, REST, Routes } from 'discord.js';
import {
  type DiscordInteractionOrigin,
  type DiscordMessageOrigin,
  type PostedStatus,
  STATUS_STEP,
  type StatusOrigin,
  type StatusRecovery,
} from '../../core/intake.js';
import type { DiscordTarget, InteractionTokens, JobStatus, JobView } from '../../core/jobs.js';
import { discordRestOptions } from './discord-deliverer.js';
import { NO_MENTIONS, statusComponents, statusContent } from './discord-format.js';
import { nonceOf } from './discord-messages.js';

/** "A thread has already been created for this message": its id is the message's. */
const THREAD_EXISTS = 160004;
/** What a user install's public deferral says where Discord would not remove it before a private answer. */
export const ANSWERED_PRIVATELY = 'Answered privately.';
/**
 * An interaction with no response to edit, or whose token no longer works: Unknown Message, Unknown Webhook,
 * Invalid Webhook Token, Unknown interaction.
 */
const NO_RESPONSE_CODES = new Set([10008, 10015, 50027, 10062]);
/** Discord's EPHEMERAL message flag (1 << 6). */
const EPHEMERAL = 64;
/** Discord's default upload limit, where the interaction does not say. */
const DEFAULT_ATTACHMENT_LIMIT = 10 * 1024 * 1024;

/** A status message's job target and conversation: a reply to the status continues it. */
export function discordPosted(target: DiscordTarget): PostedStatus {
  const id = target.statusMessageId;
  return { target, conversationKey: `discord:${id}`, aliases: [id] };
}

/** The target of a job whose status replied to a mention or DM. */
export function messageTarget(
  origin: DiscordMessageOrigin,
  statusMessageId: string,
  resultChannelId: string,
): DiscordTarget {
  return {
    platform: 'discord',
    workspaceId: origin.workspaceId,
    channelId: origin.channelId,
    userId: origin.userId,
    statusMessageId,
    resultChannelId,
    attachmentLimit: DEFAULT_ATTACHMENT_LIMIT,
  };
}

/** A thread name from the command: Discord allows 100 characters. */
export function threadName(command: string): string {
  const name = command.replace(/\s+/g, ' ').trim();
  return name.length > 90 ? `${name.slice(0, 89)}…` : name;
}

/**
 * A worker's recovery of a Discord job whose gateway stopped before queueing it. A mention's status is a reply
 * made with the nonce the gateway used (`enforce_nonce`): Discord gives back the reply the gateway made, if it
 * did, instead of a second one; its thread, if made already, is found by Discord's refusal to make another.
 *
 * An interaction in a channel the bot can read has a public follow-up for its status, made as the gateway makes it:
 * its private deferred response filled first, then removed; where its token no longer works or its response is
 * gone, a message in the channel with a nonce. Execute Webhook takes no nonce: a status follow-up the gateway made
 * just before it stopped is found among the channel's messages by its interaction's id.
 *
 * A user install's status is the interaction's response (the gateway defers it publicly), which Discord makes once
 * per interaction: the recovery edits it (Edit Original Interaction Response), whatever the gateway left there
 * ("thinking", or the status already), and the id Discord returns is the status's. Where the interaction was never
 * answered or its token no longer works, the status goes to the person's DM with the bot, with the status nonce.
 * @see https://discord.com/developers/docs/resources/message#create-message
 * @see https://discord.com/developers/docs/interactions/receiving-and-responding#followup-messages
 * @see https://discord.com/developers/docs/interactions/receiving-and-responding#edit-original-interaction-response
 */
export class DiscordStatusRecovery implements StatusRecovery {
  private readonly rest: REST;
  private readonly tokens: InteractionTokens;

  constructor(options: { token: string; apiUrl: string; interactionTokens: InteractionTokens }) {
    this.rest = new REST(discordRestOptions(options.apiUrl)).setToken(options.token);
    this.tokens = options.interactionTokens;
  }

  async post(origin: StatusOrigin, view: JobView, status: JobStatus): Promise<PostedStatus> {
    if (origin.platform !== 'discord') throw new Error(`not a Discord origin: ${origin.platform}`);
    return origin.via === 'message'
      ? this.reply(origin, view, status)
      : this.interactionStatus(origin, view, status);
  }

  /**
   * A mention is answered by a reply (a message cannot be answered privately), an interaction in its private
   * deferred response; a user install's public deferral is removed and the answer follows up privately.
   */
  async tell(origin: StatusOrigin, text: string): Promise<void> {
    if (origin.platform !== 'discord') return;
    const body = { content: text, allowed_mentions: NO_MENTIONS };
    if (origin.via === 'message') {
      const reference = { message_reference: { message_id: origin.messageId, fail_if_not_exists: false } };
      await this.rest
        .post(Routes.channelMessages(origin.channelId), { body: { ...body, ...reference } })
        .catch(() => undefined);
      return;
    }
    const webhook = await this.webhookOf(origin).catch(() => undefined);
    if (!webhook) return;
    const original = Routes.webhookMessage(webhook.app, webhook.token, '@original');
    if (!origin.target.userInstall) {
      await this.rest.patch(original, { body, auth: false }).catch(() => undefined);
      return;
    }
    // As the gateway answers privately after a public deferral (see `DiscordInteractionPlatform`).
    await this.rest
      .delete(original, { auth: false })
      .catch(() =>
        this.rest.patch(original, {
          body: { content: ANSWERED_PRIVATELY, allowed_mentions: NO_MENTIONS },
          auth: false,
        }),
      )
      .then(async () => {
        const sent = (await this.rest.post(Routes.webhook(webhook.app, webhook.token), {
          body: { ...body, flags: EPHEMERAL },
          auth: false,
          query: new URLSearchParams({ wait: 'true' }),
        })) as { id: string; flags?: number };
        if (((sent.flags ?? 0) & EPHEMERAL) === 0)
          await this.rest.delete(Routes.webhookMessage(webhook.app, webhook.token, sent.id), { auth: false });
      })
      .catch(() => undefined);
  }

  /**
   * The interaction's webhook while its token is kept (until it expires). Throws when the tokens cannot be read
   * (Redis away): a recovery is then tried again rather than taking the token for gone.
   */
  private async webhookOf(origin: DiscordInteractionOrigin) {
    const interaction = origin.target.interaction;
    const token = interaction?.tokenRef ? await this.tokens.get(interaction.tokenRef) : undefined;
    return interaction && token ? { app: interaction.applicationId, token } : undefined;
  }

  private async reply(origin: DiscordMessageOrigin, view: JobView, status: JobStatus): Promise<PostedStatus> {
    const body = {
      ...statusBody(origin.userId, view, status),
      message_reference: { message_id: origin.messageId, fail_if_not_exists: false },
      ...nonceOf({ job: view.jobId, step: STATUS_STEP }),
    };
    const reply = (await this.rest.post(Routes.channelMessages(origin.channelId), { body })) as {
      id: string;
    };
    let resultChannelId = origin.channelId;
    if (origin.thread) {
      try {
        const thread = (await this.rest.post(Routes.threads(origin.channelId, reply.id), {
          body: { name: origin.threadName, auto_archive_duration: 1440 },
        })) as { id: string };
        resultChannelId = thread.id;
      } catch (error) {
        // Made already (by the gateway): a thread started from a message has the message's id.
        if (error instanceof DiscordAPIError && Number(error.code) === THREAD_EXISTS)
          resultChannelId = reply.id;
      }
    }
    return discordPosted(messageTarget(origin, reply.id, resultChannelId));
  }

  private async interactionStatus(
    origin: DiscordInteractionOrigin,
    view: JobView,
    status: JobStatus,
  ): Promise<PostedStatus> {
    if (origin.target.userInstall) return this.userInstallStatus(origin, view, status);
    const { interaction, ...rest } = origin.target;
    const made = await this.followUpOf(origin);
    if (made) return discordPosted({ ...origin.target, statusMessageId: made });
    const body = statusBody(origin.target.userId, view, status);
    const token = interaction?.tokenRef ? await this.tokens.get(interaction.tokenRef) : undefined;
    if (interaction && token) {
      const app = interaction.applicationId;
      try {
        // As the gateway does: the private deferred response is filled (the first follow-up after a deferral
        // would take its place and turn private), the public status follows, and the placeholder goes.
        await this.rest.patch(Routes.webhookMessage(app, token, '@original'), {
          body: { content: 'Queued.', allowed_mentions: NO_MENTIONS },
          auth: false,
        });
        const status = (await this.rest.post(Routes.webhook(app, token), {
          body,
          auth: false,
          query: new URLSearchParams({ wait: 'true' }),
        })) as { id: string };
        await this.rest
          .delete(Routes.webhookMessage(app, token, '@original'), { auth: false })
          .catch(() => {});
        return discordPosted({ ...origin.target, statusMessageId: status.id });
      } catch (error) {
        if (!(error instanceof DiscordAPIError)) throw error;
      }
    }
    // Delivered with the bot token from here on: in the channel where the command was used.
    const posted = (await this.rest.post(Routes.channelMessages(rest.resultChannelId), {
      body: { ...body, ...nonceOf({ job: view.jobId, step: STATUS_STEP }) },
    })) as { id: string };
    return discordPosted({ ...rest, statusMessageId: posted.id });
  }

  /**
   * A user install's status: its interaction's response, edited (idempotent: a second recovery edits the same
   * message). Where the interaction was never answered or its token is gone, the status is a message in the
   * person's DM with the bot, with the status nonce (a second recovery gets the same message back); the job's
   * target then has no token, so what follows goes to that DM too.
   * @see https://discord.com/developers/docs/resources/user#create-dm
   */
  private async userInstallStatus(
    origin: DiscordInteractionOrigin,
    view: JobView,
    status: JobStatus,
  ): Promise<PostedStatus> {
    const body = statusBody(origin.target.userId, view, status);
    const webhook = await this.webhookOf(origin);
    if (webhook) {
      try {
        const edited = (await this.rest.patch(
          Routes.webhookMessage(webhook.app, webhook.token, '@original'),
          { body, auth: false },
        )) as { id: string };
        return discordPosted({ ...origin.target, statusMessageId: edited.id });
      } catch (error) {
        if (!(error instanceof DiscordAPIError && NO_RESPONSE_CODES.has(Number(error.code)))) throw error;
      }
    }
    const { interaction: _gone, ...rest } = origin.target;
    const dm = (await this.rest.post(Routes.userChannels(), { body: { recipient_id: rest.userId } })) as {
      id: string;
    };
    const posted = (await this.rest.post(Routes.channelMessages(dm.id), {
      body: { ...body, ...nonceOf({ job: view.jobId, step: STATUS_STEP }) },
    })) as { id: string };
    return discordPosted({ ...rest, statusMessageId: posted.id, statusInDm: dm.id });
  }

  /**
   * The public follow-up the gateway made for the interaction, if it did: the job never ran, so its only public
   * message is its status. Read with the bot token among the channel's last 50 messages (where the bot may read).
   * @see https://discord.com/developers/docs/resources/message#get-channel-messages
   */
  private async followUpOf(origin: DiscordInteractionOrigin): Promise<string | undefined> {
    const listed = (await this.rest
      .get(Routes.channelMessages(origin.target.resultChannelId), {
        query: new URLSearchParams({ limit: '50' }),
      })
      .catch(() => [])) as Array<{ id: string; flags?: number; interaction_metadata?: { id?: string } }>;
    const found = listed.find(
      (m) => m.interaction_metadata?.id === origin.interactionId && ((m.flags ?? 0) & EPHEMERAL) === 0,
    );
    return found?.id;
  }
}

function statusBody(userId: string, view: JobView, status: JobStatus) {
  return {
    content: statusContent(userId, view, status),
    components: statusComponents(view, status),
    allowed_mentions: NO_MENTIONS,
  };
}
