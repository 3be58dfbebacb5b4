import type { SourceImageResolver } from '../core/ports.js';
import type { SourceImage } from '../core/requests.js';
import {
  dataUrl,
  type SlackFileSource,
  type SourceBytes,
  sniffImageType,
  sourceImageError,
} from '../core/source-images.js';
import { type ImageCheckpoint, savedImageBytes } from './image-job.js';
import type { SourceFiles } from './source-files.js';
import type { StepJournal } from './step-journal.js';

/** How the worker hands Together a source image that is not a link, and where the gateway serves one. */
export interface SourceResolverOptions {
  files: SourceFiles;
  journal: StepJournal;
  /** Downloads Slack files with the bot token; absent when this worker has no Slack token. */
  slackFiles?: SlackFileSource | undefined;
  /** Image requests: a `/files/<token>` link on the gateway (`link`) or the image inline (`data_url`). */
  imageAs: 'link' | 'data_url';
  /** The gateway's public https address (`gateway.public_url`), without a trailing slash. */
  publicUrl: string | undefined;
  /** How long a `/files/<token>` link works. */
  linkTtlSeconds: number;
}

/**
 * The worker's `SourceImageResolver`: a link stays as it is (lorabot never fetches it); a Slack file is
 * downloaded with the bot token; an image lorabot made comes from its job's kept result; an upload from Redis.
 * Each is then handed to Together inline (a data URL: vision chat always, images when `sources.image_as` says)
 * or as a short-lived link to the gateway's `/files/<token>`. Every failure is a `SourceImageError`, raised
 * before Together is called.
 */
export class RedisSourceResolver implements SourceImageResolver {
  constructor(private readonly options: SourceResolverOptions) {}

  async resolve(
    sources: readonly SourceImage[],
    job: { jobId: string; kind?: 'flux' | 'ask'; signal?: AbortSignal | undefined },
  ) {
    const inline = job.kind === 'ask' || this.options.imageAs === 'data_url';
    // Told before anything is downloaded: no link can be made without the gateway's address.
    if (!inline && !this.options.publicUrl && sources.some((source) => source.kind !== 'link')) {
      throw sourceImageError(
        'no_public_url',
        `job ${job.jobId} needs a /files link; gateway.public_url unset`,
      );
    }
    const resolved: string[] = [];
    for (const source of sources) {
      if (source.kind === 'link') {
        resolved.push(source.url);
        continue;
      }
      const image = await this.bytesOf(source, job.signal);
      resolved.push(inline ? dataUrl(image) : await this.link(image));
    }
    return resolved;
  }

  private async link(image: SourceBytes): Promise<string> {
    const token = await this.options.files.put(image.bytes, this.options.linkTtlSeconds);
    return `${this.options.publicUrl}/files/${token}`;
  }

  private async bytesOf(
    source: Exclude<SourceImage, { kind: 'link' }>,
    signal: AbortSignal | undefined,
  ): Promise<SourceBytes> {
    switch (source.kind) {
      case 'slack-file': {
        if (!this.options.slackFiles) throw sourceImageError('no_slack', 'no Slack bot token in this worker');
        return this.options.slackFiles.download(source.url, signal);
      }
      case 'result':
        return this.resultImage(source.jobId, source.index);
      case 'stored': {
        const stored = await this.options.files.get(source.token);
        if (!stored) throw sourceImageError('upload_gone', 'the uploaded image is gone from Redis');
        return stored;
      }
    }
  }

  /** An image a finished job made, from its result kept after delivery (`sources.keep_results_hours`). */
  private async resultImage(jobId: string, index: number): Promise<SourceBytes> {
    const saved = await this.options.journal.loadCheckpoint<ImageCheckpoint>(jobId);
    const image = saved?.images?.[index];
    const bytes = image ? savedImageBytes(image) : undefined;
    const mimeType = bytes ? sniffImageType(bytes) : undefined;
    if (!bytes || !mimeType) {
      throw sourceImageError('result_gone', `job ${jobId} image ${index}: no kept result`);
    }
    return { bytes: new Uint8Array(bytes), mimeType };
  }
}
