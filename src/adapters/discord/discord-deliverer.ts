import { type RawFile, REST, Routes } from 'discord.js';
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
import {
  NO_MENTIONS,
  noticeContent,
  onlyUser,
  previewContent,
  splitAnswer,
  statusComponents,
  statusContent,
} from './discord-format.js';
import { GALLERY_LIMIT, galleryBody, isComponentsV2Refusal } from './discord-gallery.js';
import { DiscordMessages, nonceOf, TOKEN_MARGIN_MS } from './discord-messages.js';
import { discordWatchDelivery } from './discord-watch.js';
import { RecentKeys } from './recent-keys.js';

/** "The maximum request size when sending a message is 25 MiB." */
const REQUEST_LIMIT = 25 * 1024 * 1024;
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
}

/**
 * Delivers results to Discord. While an interaction's token is valid (15 minutes) the status it posted is edited
 * through its webhook; after that, or when Discord says the token is gone, through the channel with the bot token,
 * so a slow job is never lost. Results are new messages with the bot token where the bot can post (each with its
 * step's nonce), else follow-ups (see `DiscordMessages`). A user install (the bot is not a member where it was
 * used) has no channel to fall back on: its results go to the person's DM with the bot once the token is gone,
 * and a job still running when the token is about to expire says so in its status first. discord.js's REST queue
 * waits out 429s per route. Image results are one Components V2 gallery message, or plain attachments where
 * Discord refuses the flag (remembered per channel for `V2_REFUSED_MS`).
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
  readonly watch: WatchDelivery<DiscordTarget>;

  constructor(options: DiscordDelivererOptions) {
    this.rest = new REST(discordRestOptions(options.apiUrl)).setToken(options.token);
    this.now = options.now ?? Date.now;
    this.messages = new DiscordMessages(this.rest, options.interactionTokens, this.now);
    this.v2Refused = new RecentKeys(V2_REFUSED_MS, this.now);
    this.watch = discordWatchDelivery(this.rest);
    if (options.editIntervalMs !== undefined) {
      this.streaming = {
        editIntervalMs: options.editIntervalMs,
        open: async (target, post) =>
          this.messages.send(target, { content: '▍', allowed_mentions: NO_MENTIONS }, { post }),
        preview: async (target, id, partial) => {
          // Past a user install's token the answer so far cannot be shown; the whole answer goes to the DM.
          if (target.userInstall && !this.messages.isLive(target)) return;
          await this.messages.edit(target, id, {
            content: previewContent(partial),
            allowed_mentions: NO_MENTIONS,
          });
        },
      };
    }
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
      // A user install's status is where the bot cannot reach once the token is gone.
      async () =>
        target.userInstall
          ? undefined
          : this.rest.patch(Routes.channelMessage(target.channelId, target.statusMessageId), { body }),
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
    const files: RawFile[] = [];
    const refused: string[] = [];
    images.forEach((image, i) => {
      if (image.bytes.length > target.attachmentLimit) {
        refused.push(
          `Image ${i + 1} is ${formatBytes(image.bytes.length)}, over the ${formatBytes(target.attachmentLimit)} upload limit here, so it could not be attached.`,
        );
      } else {
        files.push({ name: image.fileName, data: Buffer.from(image.bytes), contentType: image.mimeType });
      }
    });
    // Each message of the step its own nonce: a retry gets back the batches already posted.
    const part = (n: number | string) => ({ ...post, step: `${post.step}#${n}` });
    // A channel where Discord refused V2 lately gets plain attachments at once, without a refused call per job.
    let gallery = caption !== undefined && !this.v2Refused.has(target.resultChannelId);
    for (const [n, batch] of batches(files).entries()) {
      const names = batch.map((f) => f.name);
      if (gallery && caption) {
        try {
          await this.messages.send(target, galleryBody(caption, names, target.userId), {
            files: batch,
            post: part(n),
          });
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
      await this.messages.send(target, body, { files: batch, post: part(n) });
    }
    if (refused.length > 0)
      await this.messages.send(
        target,
        { content: refused.join('\n'), allowed_mentions: NO_MENTIONS },
        { post: part('refused') },
      );
  }

  async postAnswer(target: DiscordTarget, text: string, steps: StepRunner, streamed?: string): Promise<void> {
    const pieces = splitAnswer(text);
    for (const [i, piece] of pieces.entries()) {
      await steps.once(`answer:${i + 1}/${pieces.length}`, async (post) => {
        const body = { content: piece, allowed_mentions: NO_MENTIONS };
        if (i === 0 && streamed) await this.messages.edit(target, streamed, body);
        else await this.messages.send(target, body, { post });
      });
    }
  }

  /** In the result channel, or as a DM (the bot opens the DM channel first). */
  async notify(target: DiscordTarget, notice: Notice, via: 'thread' | 'dm', post: StepPost): Promise<void> {
    const body = { content: noticeContent(target.userId, notice), allowed_mentions: onlyUser(target.userId) };
    if (via === 'dm') {
      // A user install's channel may be one the bot cannot see; a link to it would say nothing.
      const where = target.userInstall ? '' : ` (in <#${target.resultChannelId}>)`;
      await this.rest.post(Routes.channelMessages(await this.messages.dmChannel(target.userId)), {
        body: { ...body, content: `${body.content}${where}`.slice(0, 2000), ...nonceOf(post) },
      });
      return;
    }
    await this.messages.send(target, body, { post });
  }
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${Math.ceil(bytes / 1024)} KiB`;
}

/** Groups files so that each request stays under Discord's 25 MiB request limit (and 10 attachments, a gallery's most). */
function batches(files: RawFile[]): RawFile[][] {
  const result: RawFile[][] = [];
  let current: RawFile[] = [];
  let size = 0;
  for (const file of files) {
    const length = (file.data as Buffer).length;
    if (
      current.length > 0 &&
      (size + length > REQUEST_LIMIT - 64 * 1024 || current.length === GALLERY_LIMIT)
    ) {
      result.push(current);
      current = [];
      size = 0;
    }
    current.push(file);
    size += length;
  }
  if (current.length > 0) result.push(current);
  return result;
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
