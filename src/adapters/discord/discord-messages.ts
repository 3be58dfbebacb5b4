import { createHash } from 'node:crypto';
import { DiscordAPIError, type RawFile, type REST, Routes } from 'discord.js';
import type { DiscordInteractionRef, DiscordTarget, InteractionTokens, StepPost } from '../../core/jobs.js';
import type { StatusPatch } from './discord-embeds.js';
import { NO_MENTIONS } from './discord-format.js';
import { RecentKeys } from './recent-keys.js';

/** Unknown Webhook, Invalid Webhook Token: the interaction token expired. */
const EXPIRED_TOKEN_CODES = new Set([10015, 50027]);
/** Cannot send messages to this user: the person takes no DMs from the bot. */
const CANNOT_DM = 50007;
/** Missing Access, Missing Permissions: the bot cannot post (or read) in that channel. */
const NO_ACCESS_CODES = new Set([50001, 50013]);
/** A token this close to its expiry is not used: a request started just before expiry may arrive after it. */
export const TOKEN_MARGIN_MS = 60_000;
/** How long a channel the bot was refused in gets the interaction's webhook without trying the bot token first. */
const REFUSED_CHANNEL_MS = 10 * 60_000;
/** Discord's limit on a message nonce's length. */
const NONCE_LENGTH = 25;
/** Said in the person's DM before the first result that could not go where they asked (a user install). */
export const MOVED_TO_DM =
  'Discord gives lorabot 15 minutes to answer where you asked; this took longer, so the result is here.';

/** An interaction's webhook: its application and token. */
export interface Webhook {
  applicationId: string;
  token: string;
}

/** The three ways a job's new message can take; `DiscordMessages.place` picks one. */
export interface Ways<T> {
  /** With the bot token in the result channel (Create Message with the step's nonce). */
  inChannel: () => Promise<T>;
  /** Where only the interaction's webhook can post, while its token lives: into the status (or the DM). */
  intoStatus: (webhook: Webhook) => Promise<T>;
  /** Past the token: the person's DM (a user install) or the result channel. */
  outside: () => Promise<T>;
}

/**
 * How a job's messages reach Discord: which token, which route, and what makes each one idempotent across a worker
 * crash. One rule picks the way of every new message (`place`):
 *
 * - Where the bot can post in the result channel (a server that installed it, or its own DM: not a user install),
 *   a Create Message with the bot token and a nonce made from the job and step, with `enforce_nonce`: a retry
 *   after a crash gets back the message already made instead of a second. A result for an application command is
 *   a reply to its status.
 * - Where only the interaction's webhook can post, while its token lives (a user install; a channel that answered
 *   403 Missing Access or Missing Permissions, remembered for `REFUSED_CHANNEL_MS`), nothing new is made through
 *   it: Execute Webhook takes no nonce, and its message can be found again only by the id a crash loses. The
 *   results go INTO the job's status message instead, by Edit Webhook Message (a PATCH by id, so a retried step
 *   makes the same edit again), and the notice goes to the person's DM with the step's nonce.
 * - Past the token, a user install's results go to the person's DM with the bot (nonce-guarded as well).
 * @see https://discord.com/developers/docs/resources/message#create-message
 * @see https://discord.com/developers/docs/resources/webhook#edit-webhook-message
 */
export class DiscordMessages {
  /** Result channels where the bot token was refused, for a while. */
  private readonly refusedChannels: RecentKeys;
  /** DM channels opened, by user; and the status messages whose person was told their result moved there. */
  private readonly dmChannels = new Map<string, string>();
  private readonly movedToDm = new Set<string>();

  constructor(
    private readonly rest: REST,
    private readonly interactionTokens: InteractionTokens | undefined,
    private readonly now: () => number,
  ) {
    this.refusedChannels = new RecentKeys(REFUSED_CHANNEL_MS, now);
  }

  /**
   * The one rule of where a job's new message goes (see the class): the bot token in the result channel where the
   * bot can post, else `intoStatus` while the interaction's token lives, else `outside`.
   */
  async place<T>(target: DiscordTarget, ways: Ways<T>): Promise<T> {
    const inChannel = await this.botFirst(target, ways.inChannel);
    if (inChannel) return inChannel.value;
    return this.viaInteraction(target, ways.intoStatus, ways.outside);
  }

  /**
   * A new message with results; returns its id. Where only the webhook can post, `intoStatus` shows the results on
   * the status instead (and returns the status's id).
   */
  async send(
    target: DiscordTarget,
    body: Record<string, unknown>,
    options: {
      files?: RawFile[] | undefined;
      post?: StepPost | undefined;
      intoStatus: (webhook: Webhook) => Promise<string>;
    },
  ): Promise<string> {
    const { files, post } = options;
    return this.place(target, {
      inChannel: async () => (await this.postInChannel(target, body, files, post)).id,
      intoStatus: options.intoStatus,
      outside: async () => ((await this.postOutside(target, body, files, post)) as { id: string }).id,
    });
  }

  /**
   * Edit Webhook Message on the job's status: fields the patch leaves out stay as they are (the status line, its
   * buttons, earlier attachments when it has no `attachments`).
   * @see https://discord.com/developers/docs/resources/webhook#edit-webhook-message
   */
  async editStatus(webhook: Webhook, target: DiscordTarget, patch: StatusPatch): Promise<PostedMessage> {
    return (await this.rest.patch(
      Routes.webhookMessage(webhook.applicationId, webhook.token, target.statusMessageId),
      { body: { allowed_mentions: NO_MENTIONS, ...patch.body }, auth: false, ...filesOf(patch.files) },
    )) as PostedMessage;
  }

  /**
   * Files on the status, a request per batch (each under Discord's request limit), with `extra` fields on the first.
   * The first lists only its own files in `attachments`, so it replaces whatever an earlier attempt attached; each
   * later one keeps those before it by id. A retried step thus ends with the same attachments, once each.
   */
  async attachToStatus(
    webhook: Webhook,
    target: DiscordTarget,
    batches: { files: RawFile[][]; extra?: Record<string, unknown> },
  ): Promise<void> {
    let kept: Array<{ id: string }> = [];
    const requests = batches.files.length > 0 ? batches.files : [[]];
    for (const [n, files] of requests.entries()) {
      const attachments = files.map((file, i) => ({ id: String(i), filename: file.name }));
      const body = {
        ...(n === 0 ? (batches.extra ?? {}) : {}),
        ...(files.length > 0 ? { attachments: [...kept, ...attachments] } : {}),
      };
      const message = await this.editStatus(webhook, target, { body, files });
      kept = (message.attachments ?? []).map(({ id }) => ({ id }));
    }
  }

  /**
   * A follow-up through the interaction's webhook: only for what must be a new message where nothing else can
   * post it (a notice to a person who takes no DMs). Execute Webhook takes no nonce, so a retry may repeat it.
   * @see https://discord.com/developers/docs/interactions/receiving-and-responding#create-followup-message
   */
  async followUp(webhook: Webhook, body: Record<string, unknown>): Promise<string> {
    const sent = (await this.rest.post(Routes.webhook(webhook.applicationId, webhook.token), {
      body,
      auth: false,
      query: new URLSearchParams({ wait: 'true' }),
    })) as { id: string };
    return sent.id;
  }

  /**
   * A message in the person's DM with the bot, with the step's nonce: Create DM gives back the same channel and the
   * nonce the message already made, so a retry makes none. Undefined when Discord refuses (50007: the person takes
   * no DMs from the bot).
   * @see https://discord.com/developers/docs/resources/user#create-dm
   */
  async dm(userId: string, body: Record<string, unknown>, post: StepPost): Promise<string | undefined> {
    try {
      const channelId = await this.dmChannel(userId);
      const message = (await this.rest.post(Routes.channelMessages(channelId), {
        body: { ...body, ...nonceOf(post) },
      })) as { id: string };
      return message.id;
    } catch (error) {
      if (error instanceof DiscordAPIError && Number(error.code) === CANNOT_DM) return undefined;
      throw error;
    }
  }

  /**
   * Edits a message lorabot posted with results (never the status: see `editStatus`), the way it was posted: with
   * the bot token in the result channel, or in the person's DM for a user install (where such a message is).
   */
  async edit(target: DiscordTarget, messageId: string, body: Record<string, unknown>): Promise<void> {
    const patchInChannel = () =>
      this.rest.patch(Routes.channelMessage(target.resultChannelId, messageId), { body });
    if (await this.botFirst(target, patchInChannel)) return;
    await this.viaInteraction(
      target,
      // A message of an earlier version, made through the webhook.
      (i) =>
        this.rest.patch(Routes.webhookMessage(i.applicationId, i.token, messageId), { body, auth: false }),
      async () =>
        target.userInstall
          ? this.rest.patch(Routes.channelMessage(await this.dmChannel(target.userId), messageId), { body })
          : patchInChannel(),
    );
  }

  /**
   * Runs a bot-token call in the result channel where the bot can post; undefined where it cannot: a user install,
   * or a channel that refused the bot (403 Missing Access or Missing Permissions, remembered for a while) while
   * the interaction's webhook can still take the message.
   */
  private async botFirst<T>(
    target: DiscordTarget,
    call: () => Promise<T>,
  ): Promise<{ value: T } | undefined> {
    if (target.userInstall || this.refusedChannels.has(target.resultChannelId)) return undefined;
    try {
      return { value: await call() };
    } catch (error) {
      if (!isNoAccess(error)) throw error;
      this.refusedChannels.remember(target.resultChannelId);
      if (!this.isLive(target)) throw error;
      return undefined;
    }
  }

  /**
   * Create Message in the result channel with the step's nonce; an application command's result replies to its
   * status (left as a plain message if the status is gone).
   */
  private async postInChannel(
    target: DiscordTarget,
    body: Record<string, unknown>,
    files?: RawFile[],
    post?: StepPost,
  ): Promise<{ id: string }> {
    const reply =
      target.interaction && target.resultChannelId === target.channelId
        ? { message_reference: { message_id: target.statusMessageId, fail_if_not_exists: false } }
        : {};
    return (await this.rest.post(Routes.channelMessages(target.resultChannelId), {
      body: { ...body, ...reply, ...nonceOf(post) },
      ...(files ? { files } : {}),
    })) as { id: string };
  }

  /**
   * A new message where the interaction's webhook cannot take it: the result channel, or for a user install the
   * person's DM with the bot (told once why it is there).
   */
  async postOutside(
    target: DiscordTarget,
    body: Record<string, unknown>,
    files?: RawFile[],
    post?: StepPost,
  ): Promise<unknown> {
    if (!target.userInstall) return this.postInChannel(target, body, files, post);
    const channelId = await this.dmChannel(target.userId);
    // Nothing moved where the status itself is in the DM (a recovered request): no line saying why.
    if (!target.statusInDm && !this.movedToDm.has(target.statusMessageId)) {
      remember(this.movedToDm, target.statusMessageId);
      await this.rest.post(Routes.channelMessages(channelId), {
        body: { content: MOVED_TO_DM, allowed_mentions: NO_MENTIONS },
      });
    }
    return this.rest.post(Routes.channelMessages(channelId), {
      body: { ...body, ...nonceOf(post) },
      ...(files ? { files } : {}),
    });
  }

  /**
   * The bot's DM channel with a person, opened once (the bot may DM whoever installed it to their account).
   * @see https://discord.com/developers/docs/resources/user#create-dm
   */
  async dmChannel(userId: string): Promise<string> {
    const known = this.dmChannels.get(userId);
    if (known) return known;
    const dm = (await this.rest.post(Routes.userChannels(), { body: { recipient_id: userId } })) as {
      id: string;
    };
    this.dmChannels.set(userId, dm.id);
    if (this.dmChannels.size > 1000) this.dmChannels.delete(this.dmChannels.keys().next().value!);
    return dm.id;
  }

  isLive(target: DiscordTarget): boolean {
    const interaction = target.interaction;
    return interaction !== undefined && this.now() < interaction.expiresAt - TOKEN_MARGIN_MS;
  }

  /** Through the interaction's webhook while its token lives and Discord takes it, else `withBot`. */
  async viaInteraction<T>(
    target: DiscordTarget,
    withToken: (interaction: Webhook) => Promise<T>,
    withBot: () => Promise<T>,
  ): Promise<T> {
    const interaction = target.interaction;
    const token = interaction && this.isLive(target) ? await this.tokenOf(interaction) : undefined;
    if (interaction && token !== undefined) {
      try {
        return await withToken({ applicationId: interaction.applicationId, token });
      } catch (error) {
        if (!(error instanceof DiscordAPIError && EXPIRED_TOKEN_CODES.has(Number(error.code)))) throw error;
      }
    }
    return withBot();
  }

  /** The interaction's token: the target's own (in the gateway), else the one kept apart from the job's data. */
  async tokenOf(interaction: DiscordInteractionRef): Promise<string | undefined> {
    if (interaction.token !== undefined) return interaction.token;
    if (interaction.tokenRef === undefined || !this.interactionTokens) return undefined;
    return this.interactionTokens.get(interaction.tokenRef);
  }
}

/** Discord refused the bot in a channel: 403 Missing Access (not a member, cannot see it) or Missing Permissions. */
function isNoAccess(error: unknown): boolean {
  return error instanceof DiscordAPIError && error.status === 403 && NO_ACCESS_CODES.has(Number(error.code));
}

/** A step's nonce: deterministic from its job and step, at most 25 characters, enforced. */
export function nonceOf(post: (Pick<StepPost, 'job' | 'step'> & Partial<StepPost>) | undefined): {
  nonce?: string;
  enforce_nonce?: true;
} {
  if (!post) return {};
  const digest = createHash('sha256').update(`${post.job}\u0000${post.step}`).digest('base64url');
  return { nonce: digest.slice(0, NONCE_LENGTH), enforce_nonce: true };
}

/** Adds to a set of recent ids, forgetting the oldest past 1,000. */
function remember(ids: Set<string>, id: string): void {
  ids.add(id);
  if (ids.size > 1000) ids.delete(ids.values().next().value!);
}

/** What Discord answers an edit with, as far as lorabot reads it. */
interface PostedMessage {
  id: string;
  attachments?: Array<{ id: string }>;
}

/** A request's `files`, when it has any (a JSON body otherwise). */
function filesOf(files: RawFile[] | undefined): { files?: RawFile[] } {
  return files && files.length > 0 ? { files } : {};
}
