import { DiscordAPIError, type RawFile, REST, Routes } from 'discord.js';
import type { NamedImage } from '../../core/image-files.js';
import type {
  AnswerStreaming,
  Deliverer,
  DiscordInteractionRef,
  DiscordTarget,
  InteractionTokens,
  JobStatus,
  JobView,
  Notice,
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
import { discordWatchDelivery } from './discord-watch.js';

/** "The maximum request size when sending a message is 25 MiB." */
const REQUEST_LIMIT = 25 * 1024 * 1024;
/** Unknown Webhook, Invalid Webhook Token: the interaction token expired. */
const EXPIRED_TOKEN_CODES = new Set([10015, 50027]);

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
 * token, so a slow job is never lost. discord.js's REST queue waits out 429s per route.
 * @see https://discord.com/developers/docs/interactions/receiving-and-responding
 */
export class DiscordDeliverer implements Deliverer<DiscordTarget> {
  private readonly rest: REST;
  private readonly now: () => number;
  private readonly interactionTokens: InteractionTokens | undefined;
  readonly streaming?: AnswerStreaming<DiscordTarget>;
  readonly watch: WatchDelivery<DiscordTarget>;

  constructor(options: DiscordDelivererOptions) {
    this.rest = new REST(discordRestOptions(options.apiUrl)).setToken(options.token);
    this.now = options.now ?? Date.now;
    this.interactionTokens = options.interactionTokens;
    this.watch = discordWatchDelivery(this.rest);
    if (options.editIntervalMs !== undefined) {
      this.streaming = {
        editIntervalMs: options.editIntervalMs,
        open: async (target) => this.send(target, { content: '▍', allowed_mentions: NO_MENTIONS }),
        preview: async (target, id, partial) =>
          this.edit(target, id, { content: previewContent(partial), allowed_mentions: NO_MENTIONS }),
      };
    }
  }

  async updateStatus(target: DiscordTarget, view: JobView, status: JobStatus): Promise<void> {
    const body = {
      content: statusContent(target.userId, view, status),
      allowed_mentions: NO_MENTIONS,
      components: statusComponents(view, status),
    };
    await this.viaInteraction(
      target,
      (i) =>
        // By id: the status is the interaction's response, or a follow-up after a private deferral.
        this.rest.patch(Routes.webhookMessage(i.applicationId, i.token, target.statusMessageId), {
          body,
          auth: false,
        }),
      () => this.rest.patch(Routes.channelMessage(target.channelId, target.statusMessageId), { body }),
    );
  }

  async postImages(target: DiscordTarget, images: ReadonlyArray<NamedImage>): Promise<void> {
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
    for (const batch of batches(files)) {
      const body = {
        content: '',
        allowed_mentions: NO_MENTIONS,
        attachments: batch.map((f, id) => ({ id: String(id), filename: f.name })),
      };
      await this.send(target, body, batch);
    }
    if (refused.length > 0)
      await this.send(target, { content: refused.join('\n'), allowed_mentions: NO_MENTIONS });
  }

  async postAnswer(target: DiscordTarget, text: string, steps: StepRunner, streamed?: string): Promise<void> {
    const pieces = splitAnswer(text);
    for (const [i, piece] of pieces.entries()) {
      await steps.once(`answer:${i + 1}/${pieces.length}`, async () => {
        const body = { content: piece, allowed_mentions: NO_MENTIONS };
        if (i === 0 && streamed) await this.edit(target, streamed, body);
        else await this.send(target, body);
      });
    }
  }

  /** In the result channel, or as a DM (the bot opens the DM channel first). */
  async notify(target: DiscordTarget, notice: Notice, via: 'thread' | 'dm'): Promise<void> {
    const body = { content: noticeContent(target.userId, notice), allowed_mentions: onlyUser(target.userId) };
    if (via === 'dm') {
      const dm = (await this.rest.post(Routes.userChannels(), { body: { recipient_id: target.userId } })) as {
        id: string;
      };
      await this.rest.post(Routes.channelMessages(dm.id), {
        body: { ...body, content: `${body.content} (in <#${target.resultChannelId}>)`.slice(0, 2000) },
      });
      return;
    }
    await this.send(target, body);
  }

  /** Edits a message lorabot posted in the result channel. */
  private async edit(target: DiscordTarget, messageId: string, body: Record<string, unknown>): Promise<void> {
    await this.viaInteraction(
      target,
      (i) =>
        this.rest.patch(Routes.webhookMessage(i.applicationId, i.token, messageId), { body, auth: false }),
      () => this.rest.patch(Routes.channelMessage(target.resultChannelId, messageId), { body }),
    );
  }

  /** A new message with the results: a follow-up while the token lives, else a message in the result channel. */
  private async send(
    target: DiscordTarget,
    body: Record<string, unknown>,
    files?: RawFile[],
  ): Promise<string> {
    const message = (await this.viaInteraction(
      target,
      (i) =>
        this.rest.post(Routes.webhook(i.applicationId, i.token), {
          body,
          auth: false,
          query: new URLSearchParams({ wait: 'true' }),
          ...(files ? { files } : {}),
        }),
      () =>
        this.rest.post(Routes.channelMessages(target.resultChannelId), { body, ...(files ? { files } : {}) }),
    )) as { id: string };
    return message.id;
  }

  private async viaInteraction(
    target: DiscordTarget,
    withToken: (interaction: { applicationId: string; token: string }) => Promise<unknown>,
    withBot: () => Promise<unknown>,
  ): Promise<unknown> {
    const interaction = target.interaction;
    // A minute's margin: a request started just before expiry may arrive after it.
    const live = interaction && this.now() < interaction.expiresAt - 60_000;
    const token = live ? await this.tokenOf(interaction) : undefined;
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

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${Math.ceil(bytes / 1024)} KiB`;
}

/** Groups files so that each request stays under Discord's 25 MiB request limit (and 10 attachments). */
function batches(files: RawFile[]): RawFile[][] {
  const result: RawFile[][] = [];
  let current: RawFile[] = [];
  let size = 0;
  for (const file of files) {
    const length = (file.data as Buffer).length;
    if (current.length > 0 && (size + length > REQUEST_LIMIT - 64 * 1024 || current.length === 10)) {
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
