import { createHash } from 'node:crypto';
import { DiscordAPIError, type RawFile, REST, Routes } from 'discord.js';
import type { NamedImage } from '../../core/image-files.js';
import type {
  AnswerStreaming,
  Deliverer,
  DiscordInteractionRef,
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
import { discordWatchDelivery } from './discord-watch.js';

/** "The maximum request size when sending a message is 25 MiB." */
const REQUEST_LIMIT = 25 * 1024 * 1024;
/** Unknown Webhook, Invalid Webhook Token: the interaction token expired. */
const EXPIRED_TOKEN_CODES = new Set([10015, 50027]);
/** A token this close to its expiry is not used: a request started just before expiry may arrive after it. */
const TOKEN_MARGIN_MS = 60_000;
/** Said in the person's DM before the first result that could not go where they asked (a user install). */
export const MOVED_TO_DM =
  'Discord gives lorabot 15 minutes to answer where you asked; this took longer, so the result is here.';
/** Added to a user install's status when its token is about to expire with the job still running. */
export const HANDOFF_LINE =
  '-# This is taking longer than the 15 minutes Discord gives lorabot to answer here: the result will arrive in your DM with lorabot.';
/** Discord's limit on a message nonce's length. */
const NONCE_LENGTH = 25;

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
 * Delivers results to Discord. While an interaction's token is valid (15 minutes) the status and results go
 * through its webhook; after that, or when Discord says the token is gone, through the channel with the bot
 * token, so a slow job is never lost. A user install (the bot is not a member where it was used) has no channel
 * to fall back on: its results go to the person's DM with the bot instead, and a job still running when the
 * token is about to expire says so in its status first. discord.js's REST queue waits out 429s per route.
 * Image results are one Components V2 gallery message, or today's attachments where Discord refuses the flag.
 * @see https://discord.com/developers/docs/interactions/receiving-and-responding
 */
export class DiscordDeliverer implements Deliverer<DiscordTarget> {
  private readonly rest: REST;
  private readonly now: () => number;
  private readonly interactionTokens: InteractionTokens | undefined;
  readonly streaming?: AnswerStreaming<DiscordTarget>;
  /**
   * User installs' running jobs: the timer that says "the result will arrive in your DM", by status message. Each
   * is cleared when its job ends, and none keeps the process alive (a stopping worker hands its jobs back).
   */
  private readonly handoffs = new Map<string, NodeJS.Timeout>();
  /** DM channels opened, by user; and the status messages whose person was told their result moved there. */
  private readonly dmChannels = new Map<string, string>();
  private readonly movedToDm = new Set<string>();
  readonly watch: WatchDelivery<DiscordTarget>;

  constructor(options: DiscordDelivererOptions) {
    this.rest = new REST(discordRestOptions(options.apiUrl)).setToken(options.token);
    this.now = options.now ?? Date.now;
    this.interactionTokens = options.interactionTokens;
    this.watch = discordWatchDelivery(this.rest);
    if (options.editIntervalMs !== undefined) {
      this.streaming = {
        editIntervalMs: options.editIntervalMs,
        open: async (target, post) =>
          this.send(target, { content: '▍', allowed_mentions: NO_MENTIONS }, { post }),
        preview: async (target, id, partial) => {
          // Past a user install's token the answer so far cannot be shown; the whole answer goes to the DM.
          if (target.userInstall && !this.isLive(target)) return;
          await this.edit(target, id, { content: previewContent(partial), allowed_mentions: NO_MENTIONS });
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
    await this.viaInteraction(
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
      void this.tokenOf(interaction)
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
    let gallery = caption !== undefined;
    for (const [n, batch] of batches(files).entries()) {
      const names = batch.map((f) => f.name);
      if (gallery && caption) {
        try {
          await this.send(target, galleryBody(caption, names, target.userId), {
            files: batch,
            post: part(n),
          });
          continue;
        } catch (error) {
          // Refused here (no message was made, so the nonce is free): this and the later batches go as plain
          // attachments (the status carries the buttons).
          if (!isComponentsV2Refusal(error)) throw error;
          gallery = false;
        }
      }
      const body = {
        content: '',
        allowed_mentions: NO_MENTIONS,
        attachments: names.map((filename, id) => ({ id: String(id), filename })),
      };
      await this.send(target, body, { files: batch, post: part(n) });
    }
    if (refused.length > 0)
      await this.send(
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
        if (i === 0 && streamed) await this.edit(target, streamed, body);
        else await this.send(target, body, { post });
      });
    }
  }

  /** In the result channel, or as a DM (the bot opens the DM channel first). */
  async notify(target: DiscordTarget, notice: Notice, via: 'thread' | 'dm', post: StepPost): Promise<void> {
    const body = { content: noticeContent(target.userId, notice), allowed_mentions: onlyUser(target.userId) };
    if (via === 'dm') {
      // A user install's channel may be one the bot cannot see; a link to it would say nothing.
      const where = target.userInstall ? '' : ` (in <#${target.resultChannelId}>)`;
      await this.rest.post(Routes.channelMessages(await this.dmChannel(target.userId)), {
        body: { ...body, content: `${body.content}${where}`.slice(0, 2000), ...nonceOf(post) },
      });
      return;
    }
    await this.send(target, body, { post });
  }

  /** Edits a message lorabot posted in the result channel. */
  private async edit(target: DiscordTarget, messageId: string, body: Record<string, unknown>): Promise<void> {
    await this.viaInteraction(
      target,
      (i) =>
        this.rest.patch(Routes.webhookMessage(i.applicationId, i.token, messageId), { body, auth: false }),
      () =>
        target.userInstall
          ? this.postOutside(target, body)
          : this.rest.patch(Routes.channelMessage(target.resultChannelId, messageId), { body }),
    );
  }

  /**
   * A new message with the results: a follow-up while the interaction's token lives, else a Create Message in the
   * result channel. There a step's message carries a nonce made from its job and step, with `enforce_nonce`, so a
   * retry after a crash gets back the message already made instead of a second. Execute Webhook takes no nonce: a
   * follow-up has no such guard.
   * @see https://discord.com/developers/docs/resources/message#create-message
   */
  private async send(
    target: DiscordTarget,
    body: Record<string, unknown>,
    options: { files?: RawFile[] | undefined; post?: StepPost | undefined } = {},
  ): Promise<string> {
    const { files, post } = options;
    const message = (await this.viaInteraction(
      target,
      (i) =>
        this.rest.post(Routes.webhook(i.applicationId, i.token), {
          body,
          auth: false,
          query: new URLSearchParams({ wait: 'true' }),
          ...(files ? { files } : {}),
        }),
      () => this.postOutside(target, body, files, post),
    )) as { id: string };
    return message.id;
  }

  /**
   * A new message where the interaction's webhook cannot take it: the result channel, or for a user install the
   * person's DM with the bot (told once why it is there).
   */
  private async postOutside(
    target: DiscordTarget,
    body: Record<string, unknown>,
    files?: RawFile[],
    post?: StepPost,
  ) {
    const channelId = target.userInstall ? await this.dmChannel(target.userId) : target.resultChannelId;
    if (target.userInstall && !this.movedToDm.has(target.statusMessageId)) {
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
  private async dmChannel(userId: string): Promise<string> {
    const known = this.dmChannels.get(userId);
    if (known) return known;
    const dm = (await this.rest.post(Routes.userChannels(), { body: { recipient_id: userId } })) as {
      id: string;
    };
    this.dmChannels.set(userId, dm.id);
    if (this.dmChannels.size > 1000) this.dmChannels.delete(this.dmChannels.keys().next().value!);
    return dm.id;
  }

  private isLive(target: DiscordTarget): boolean {
    const interaction = target.interaction;
    return interaction !== undefined && this.now() < interaction.expiresAt - TOKEN_MARGIN_MS;
  }

  private async viaInteraction(
    target: DiscordTarget,
    withToken: (interaction: { applicationId: string; token: string }) => Promise<unknown>,
    withBot: () => Promise<unknown>,
  ): Promise<unknown> {
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
  private async tokenOf(interaction: DiscordInteractionRef): Promise<string | undefined> {
    if (interaction.token !== undefined) return interaction.token;
    if (interaction.tokenRef === undefined || !this.interactionTokens) return undefined;
    return this.interactionTokens.get(interaction.tokenRef);
  }
}

/** A step's nonce: deterministic from its job and step, at most 25 characters, enforced. */
export function nonceOf(post: StepPost | { job: string; step: string } | undefined): {
  nonce?: string;
  enforce_nonce?: true;
} {
  if (!post) return {};
  const digest = createHash('sha256').update(`${post.job}\u0000${post.step}`).digest('base64url');
  return { nonce: digest.slice(0, NONCE_LENGTH), enforce_nonce: true };
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${Math.ceil(bytes / 1024)} KiB`;
}

/** Adds to a set of recent ids, forgetting the oldest past 1,000. */
function remember(ids: Set<string>, id: string): void {
  ids.add(id);
  if (ids.size > 1000) ids.delete(ids.values().next().value!);
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
