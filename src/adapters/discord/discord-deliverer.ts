import { REST, Routes } from 'discord.js';
import type { NamedImage } from '../../core/image-files.js';
import type {
  AnswerStreaming,
  Deliverer,
  DiscordTarget,
  ImageCaption,
  InteractionTokens,
  JobStatus,
  JobView,
  Notice,
  StepPost,
  StepRunner,
  WatchDelivery,
} from '../../core/jobs.js';
import type { Logger } from '../../core/ports.js';
import { attachable, batches } from './discord-attachments.js';
import { answerOnStatus, previewOnStatus, refusedOnStatus } from './discord-embeds.js';
import {
  NO_MENTIONS,
  noticeContent,
  onlyUser,
  previewContent,
  splitAnswer,
  statusComponents,
  statusContent,
} from './discord-format.js';
import { galleryBody, isComponentsV2Refusal } from './discord-gallery.js';
import { DiscordMessages, TOKEN_MARGIN_MS, type Webhook } from './discord-messages.js';
import { discordWatchDelivery } from './discord-watch.js';
import { RecentKeys } from './recent-keys.js';

/** How long a result channel where Discord refused a Components V2 message gets plain attachments without asking. */
const V2_REFUSED_MS = 60 * 60_000;
/** Added to a user install's status when its token is about to expire with the job still running. */
export const HANDOFF_LINE =
  '-# This is taking longer than the 15 minutes Discord gives lorabot to answer here: the result will arrive in your DM with lorabot.';

export interface DiscordDelivererOptions {
  token: string;
  apiUrl: string;
  /** Where interaction tokens are kept apart from job data; without it only a target's own token is used. */
  interactionTokens?: InteractionTokens;
  now?: () => number;
  /** Streamed answers: the least time between two edits of one message; undefined: no streaming. */
  editIntervalMs?: number;
  /** Says when a notice could not be sent (the person takes no DMs); without it, nothing is logged. */
  logger?: Logger;
}

/**
 * Delivers results to Discord. While an interaction's token is valid (15 minutes) the status it posted is edited
 * through its webhook; after that, or when Discord says the token is gone, through the channel with the bot token,
 * so a slow job is never lost. Results are new messages with the bot token where the bot can post (each with its
 * step's nonce); where only the webhook can post, they are shown on the status itself (images attached, an answer
 * in embeds) and the notice is a DM (the way each takes: `DiscordMessages.place`). A user install (the bot is not
 * a member where it was used) has no channel to fall back on: its results go to the person's DM with the bot once
 * the token is gone, and a job still running when the token is about to expire says so in its status first.
 * discord.js's REST queue waits out 429s per route. Image results are one Components V2 gallery message, or plain
 * attachments where Discord refuses the flag (remembered per channel for `V2_REFUSED_MS`).
 * @see https://discord.com/developers/docs/interactions/receiving-and-responding
 */
export class DiscordDeliverer implements Deliverer<DiscordTarget> {
  private readonly rest: REST;
  private readonly now: () => number;
  readonly streaming?: AnswerStreaming<DiscordTarget>;
  /**
   * User installs' running jobs: the timer that says "the result will arrive in your DM", by status message. Each
   * is cleared when its job ends, and none keeps the process alive (a stopping worker hands its jobs back).
   */
  private readonly handoffs = new Map<string, NodeJS.Timeout>();
  /** New messages and their edits: the bot token with a step's nonce where it can post, else the webhook. */
  private readonly messages: DiscordMessages;
  /** Result channels where Discord refused a Components V2 gallery, for a while. */
  private readonly v2Refused: RecentKeys;
  private readonly logger: Logger | undefined;
  readonly watch: WatchDelivery<DiscordTarget>;

  constructor(options: DiscordDelivererOptions) {
    this.rest = new REST(discordRestOptions(options.apiUrl)).setToken(options.token);
    this.now = options.now ?? Date.now;
    this.messages = new DiscordMessages(this.rest, options.interactionTokens, this.now);
    this.v2Refused = new RecentKeys(V2_REFUSED_MS, this.now);
    this.logger = options.logger;
    this.watch = discordWatchDelivery(this.rest);
    if (options.editIntervalMs !== undefined) this.streaming = this.streamingEvery(options.editIntervalMs);
  }

  /**
   * Streamed answers: one message that grows, with the bot token where it can post, else the status's embed (the
   * status's own id, from `open`, tells the steps after where the answer is).
   */
  private streamingEvery(editIntervalMs: number): AnswerStreaming<DiscordTarget> {
    return {
      editIntervalMs,
      open: async (target, post) =>
        this.messages.send(
          target,
          { content: '▍', allowed_mentions: NO_MENTIONS },
          {
            post,
            intoStatus: async (hook) => {
              await this.messages.editStatus(hook, target, previewOnStatus(''));
              return target.statusMessageId;
            },
          },
        ),
      preview: async (target, id, partial) => {
        const onStatus = id === target.statusMessageId;
        // Past the token the answer so far cannot be shown there; the whole answer goes to the DM.
        if ((target.userInstall || onStatus) && !this.messages.isLive(target)) return;
        if (onStatus) {
          await this.messages.viaInteraction(
            target,
            (hook) => this.messages.editStatus(hook, target, previewOnStatus(partial)),
            async () => undefined,
          );
          return;
        }
        await this.messages.edit(target, id, {
          content: previewContent(partial),
          allowed_mentions: NO_MENTIONS,
        });
      },
    };
  }

  async updateStatus(target: DiscordTarget, view: JobView, status: JobStatus): Promise<void> {
    if (target.userInstall) this.planHandoff(target, view, status);
    const body = {
      content: statusContent(target.userId, view, status),
      allowed_mentions: NO_MENTIONS,
      components: statusComponents(view, status),
    };
    await this.patchStatus(target, body);
  }

  private async patchStatus(target: DiscordTarget, body: Record<string, unknown>): Promise<void> {
    await this.messages.viaInteraction(
      target,
      (i) =>
        // By id: the status is the interaction's response, or a follow-up after a private deferral.
        this.rest.patch(Routes.webhookMessage(i.applicationId, i.token, target.statusMessageId), {
          body,
          auth: false,
        }),
      // A user install's status is where the bot cannot reach once the token is gone, unless a recovery put it in
      // the person's DM with the bot.
      async () =>
        target.userInstall && !target.statusInDm
          ? undefined
          : this.rest.patch(
              Routes.channelMessage(target.statusInDm ?? target.channelId, target.statusMessageId),
              { body },
            ),
    );
  }

  /**
   * A user install's job that starts running gets a timer for when its token is about to expire: if it is still
   * running then, its status says that the result will arrive in the person's DM. Its end clears the timer.
   */
  private planHandoff(target: DiscordTarget, view: JobView, status: JobStatus): void {
    const key = target.statusMessageId;
    clearTimeout(this.handoffs.get(key));
    this.handoffs.delete(key);
    if (status.state !== 'running' || !target.interaction) return;
    const interaction = target.interaction;
    // When the webhook stops being used (its last minute is left alone), results go to the DM instead.
    const delay = interaction.expiresAt - TOKEN_MARGIN_MS - this.now();
    if (delay <= 0) return;
    const timer = setTimeout(() => {
      this.handoffs.delete(key);
      const body = {
        content: `${statusContent(target.userId, view, status)}\n${HANDOFF_LINE}`.slice(0, 2000),
        allowed_mentions: NO_MENTIONS,
        components: statusComponents(view, status),
      };
      // Sent within the token's last minute, so past the margin the other requests keep.
      void this.messages
        .tokenOf(interaction)
        .then((token) =>
          token === undefined
            ? undefined
            : this.rest.patch(Routes.webhookMessage(interaction.applicationId, token, key), {
                body,
                auth: false,
              }),
        )
        .catch(() => undefined);
    }, delay);
    timer.unref();
    this.handoffs.set(key, timer);
  }

  async postImages(
    target: DiscordTarget,
    images: ReadonlyArray<NamedImage>,
    post: StepPost,
    caption?: ImageCaption,
  ): Promise<void> {
    const { files, refused } = attachable(images, target.attachmentLimit);
    const fileBatches = batches(files);
    // Each message of the step its own nonce: a retry gets back the batches already posted.
    const part = (n: number | string) => ({ ...post, step: `${post.step}#${n}` });
    // Where only the webhook can post: every image, and the refusals, on the status (plain attachments: the
    // status keeps its content and buttons, which a V2 message cannot have).
    let onStatus = false;
    const intoStatus = async (hook: Webhook) => {
      const extra = refused.length > 0 ? refusedOnStatus(refused) : undefined;
      await this.messages.attachToStatus(hook, target, { files: fileBatches, ...(extra ? { extra } : {}) });
      onStatus = true;
      return target.statusMessageId;
    };
    // A channel where Discord refused V2 lately gets plain attachments at once, without a refused call per job.
    let gallery = caption !== undefined && !this.v2Refused.has(target.resultChannelId);
    for (const [n, batch] of fileBatches.entries()) {
      if (onStatus) return;
      const names = batch.map((f) => f.name);
      if (gallery && caption) {
        try {
          const body = galleryBody(caption, names, target.userId);
          await this.messages.send(target, body, { files: batch, post: part(n), intoStatus });
          continue;
        } catch (error) {
          // Refused here (no message was made, so the nonce is free): this and the later batches go as plain
          // attachments (the status carries the buttons).
          if (!isComponentsV2Refusal(error)) throw error;
          this.v2Refused.remember(target.resultChannelId);
          gallery = false;
        }
      }
      const body = {
        content: '',
        allowed_mentions: NO_MENTIONS,
        attachments: names.map((filename, id) => ({ id: String(id), filename })),
      };
      await this.messages.send(target, body, { files: batch, post: part(n), intoStatus });
    }
    if (refused.length > 0 && !onStatus)
      await this.messages.send(
        target,
        { content: refused.join('\n'), allowed_mentions: NO_MENTIONS },
        { post: part('refused'), intoStatus },
      );
  }

  async postAnswer(target: DiscordTarget, text: string, steps: StepRunner, streamed?: string): Promise<void> {
    if (streamed === target.statusMessageId) {
      // Streamed into the status's embed: the whole answer replaces it there (one edit, the same on a retry).
      await steps.once('answer:1/1', (post) => this.answerOnStatus(target, text, post));
      return;
    }
    const pieces = splitAnswer(text);
    let onStatus = false;
    for (const [i, piece] of pieces.entries()) {
      if (onStatus) return;
      await steps.once(`answer:${i + 1}/${pieces.length}`, async (post) => {
        const body = { content: piece, allowed_mentions: NO_MENTIONS };
        if (i === 0 && streamed) return this.messages.edit(target, streamed, body);
        await this.messages.send(target, body, {
          post,
          // Where only the webhook can post, the whole answer goes on the status at once.
          intoStatus: async (hook) => {
            await this.messages.editStatus(hook, target, answerOnStatus(text));
            onStatus = true;
            return target.statusMessageId;
          },
        });
      });
    }
  }

  /** The whole answer in the status's embeds while the token lives; past it, as messages in the DM (or channel). */
  private async answerOnStatus(target: DiscordTarget, text: string, post: StepPost): Promise<void> {
    await this.messages.viaInteraction(
      target,
      async (hook) => {
        await this.messages.editStatus(hook, target, answerOnStatus(text));
      },
      async () => {
        for (const [n, piece] of splitAnswer(text).entries()) {
          const body = { content: piece, allowed_mentions: NO_MENTIONS };
          await this.messages.postOutside(target, body, undefined, { ...post, step: `${post.step}#${n}` });
        }
      },
    );
  }

  /**
   * In the result channel, or as a DM (the bot opens the DM channel first). Where only the interaction's webhook
   * can post, a DM as well: the webhook would make a follow-up, which no nonce guards. A person who takes no DMs
   * from the bot still gets a message that mentions them: where the results are (there, a follow-up: the one
   * message a worker killed in the instant after Discord took it may post again).
   */
  async notify(target: DiscordTarget, notice: Notice, via: 'thread' | 'dm', post: StepPost): Promise<void> {
    const body = { content: noticeContent(target.userId, notice), allowed_mentions: onlyUser(target.userId) };
    if (via === 'dm' && (await this.notifyByDm(target, body, post))) return;
    await this.messages.send(target, body, {
      post,
      intoStatus: async (hook) => {
        if (via === 'thread' && (await this.notifyByDm(target, body, post))) return target.statusMessageId;
        return this.messages.followUp(hook, body);
      },
    });
  }

  /** The notice in the person's DM; false when they take no DMs from the bot. */
  private async notifyByDm(
    target: DiscordTarget,
    body: { content: string; allowed_mentions: unknown },
    post: StepPost,
  ): Promise<boolean> {
    // A user install's channel may be one the bot cannot see (a channel mention would say nothing there): a link
    // to the status, which Discord opens for whoever can see it.
    const where = target.userInstall ? ` (${statusLink(target)})` : ` (in <#${target.resultChannelId}>)`;
    const content = `${body.content}${where}`.slice(0, 2000);
    const sent = await this.messages.dm(target.userId, { ...body, content }, post);
    if (sent === undefined)
      this.logger?.info(
        { jobId: post.job, step: post.step },
        'the requester takes no DMs from lorabot: the notice goes where the results are',
      );
    return sent !== undefined;
  }
}

/**
 * A link to a job's status message: `@me` stands for the server in a DM or group DM.
 * @see https://discord.com/developers/docs/reference#message-formatting
 */
function statusLink(target: DiscordTarget): string {
  const [server, channel] = target.statusInDm
    ? ['@me', target.statusInDm]
    : [target.workspaceId || '@me', target.resultChannelId];
  return `https://discord.com/channels/${server}/${channel}/${target.statusMessageId}`;
}

/**
 * REST options for discord.js: requests go through the global `fetch`, which encodes multipart uploads itself.
 * @discordjs/rest's own default hands Node's FormData to whichever undici is the global dispatcher, and when that
 * is another undici version (lorabot's, loaded first) the upload fails; with `fetch` the load order does not matter.
 */
export function discordRestOptions(apiUrl: string) {
  return {
    api: apiUrl.replace(/\/+$/, ''),
    version: '10',
    makeRequest: (url: string, init: RequestInit) => fetch(url, init),
  };
}
