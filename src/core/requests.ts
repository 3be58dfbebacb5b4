import type { FineTuneRequest, WatchedKind } from './finetune.js';
/** What an accepted `/flux` or `/ask` command asks for, before it becomes a provider request body. */

/** Together's limit: "You can add up to 2 LoRAs per image". */
export const MAX_LORAS = 2;

/** The largest seed we accept: Together types it as an integer; int32 is safe everywhere. */
export const MAX_SEED = 2_147_483_647;

export interface LoraSpec {
  /** The URL Together downloads the LoRA from. */
  path: string;
  scale: number;
  /** Set when the LoRA came from a preset: the preset's name. */
  preset?: string;
  /** The preset's trigger phrase, if any. */
  trigger?: string;
}

/**
 * An image a request starts from (`/flux … --image`, Vary, Edit, a picture in `/ask`), as the person gave it. The
 * worker turns each into something Together can read just before the call (`SourceImageResolver`).
 */
export type SourceImage =
  /**
   * An https link (`--image`, or a Discord attachment, public for a while): handed to Together as it is. An
   * attachment also says what the platform knows of the file, which the inbound service checks before queueing.
   */
  | ({ kind: 'link'; url: string } & FileFacts)
  /**
   * A file shared on Slack: readable only with the bot token, so the worker downloads it (size-capped, type-checked
   * by its first bytes, time-limited) and hands Together a data URL or a short-lived `/files/<token>` link.
   */
  | ({ kind: 'slack-file'; url: string } & FileFacts)
  /** An image lorabot made: the job that made it and its place among that job's images (0-based). */
  | { kind: 'result'; jobId: string; index: number }
  /**
   * An image uploaded to the gateway (the web playground), kept in Redis under `token` for a while; the gateway
   * read its facts from the stored bytes when the command named it.
   */
  | ({ kind: 'stored'; token: string } & FileFacts);

/** What a platform says of an attached file, where it says it: checked before a job is queued. */
export interface FileFacts {
  name?: string;
  mimetype?: string;
  bytes?: number;
  /** Pixel size, when the platform gives it: a vision question's estimate counts its tiles (else the most). */
  width?: number;
  height?: number;
}

export interface ImageRequest {
  /** The prompt as the user wrote it (whitespace folded). */
  prompt: string;
  /** Images to start from (an edit or a variation); absent or empty: an image from the prompt alone. */
  images?: SourceImage[];
  loras: LoraSpec[];
  width: number;
  height: number;
  steps: number;
  n: number;
  seed?: number;
}

export interface ChatRequest {
  question: string;
  /**
   * Every image the body carries (a vision model), the conversation's earlier ones first; absent or empty: text
   * only. Markers in the body index this list.
   */
  images?: SourceImage[];
  /** How many of `images` come from earlier turns of the conversation (the rest are this question's own). */
  earlierImages?: number;
  /** The chat model preset name. */
  model: string;
}

export type CommandName = 'flux' | 'ask';

export type ParsedCommand =
  | { kind: 'flux'; request: ImageRequest; notices: string[] }
  | { kind: 'ask'; request: ChatRequest; notices: string[] }
  | { kind: 'help'; topic: CommandName }
  /** `/flux presets`, `/ask models`, `/flux usage` (or `/ask usage`): answered at once, privately, never queued. */
  | { kind: 'info'; topic: InfoTopic }
  /** `/flux notify thread|dm|off` sets how completion reaches the user; without a mode it shows the current one. */
  | { kind: 'notify'; mode: 'thread' | 'dm' | 'off' | undefined }
  /** `/ask watch <ft-…|job-…>`: follow a Together fine-tune or upload job in the channel until it ends. */
  | { kind: 'watch'; id: string; watched: WatchedKind }
  /** `/ask finetune …` (admins): start a fine-tune after its price estimate is confirmed. */
  | { kind: 'finetune'; finetune: FineTuneRequest };

/** `/flux jobs` lists the requester's queued and running jobs. */
export type InfoTopic = 'presets' | 'models' | 'usage' | 'jobs';

/** A command that becomes a job. */
export type AcceptedCommand = Extract<ParsedCommand, { kind: 'flux' | 'ask' }>;

/** Single words that are a subcommand, not a prompt, for each command. */
export const RESERVED_WORDS: Record<CommandName, readonly string[]> = {
  flux: ['help', 'presets', 'usage', 'jobs', 'notify'],
  ask: ['help', 'models', 'usage', 'jobs'],
};

/**
 * The prompt Together receives: each preset's trigger phrase first, once (skipped when the prompt already holds it),
 * then the user's prompt.
 */
export function effectivePrompt(request: ImageRequest): string {
  const lower = request.prompt.toLowerCase();
  const triggers: string[] = [];
  for (const lora of request.loras) {
    const trigger = lora.trigger?.trim();
    if (!trigger) continue;
    const t = trigger.toLowerCase();
    if (lower.includes(t) || triggers.some((seen) => seen.toLowerCase() === t)) continue;
    triggers.push(trigger);
  }
  return triggers.length === 0 ? request.prompt : `${triggers.join(', ')}, ${request.prompt}`;
}

/**
 * Where a source image goes in a Together body built when the command is accepted: a link is written as itself;
 * any other source as `sourceMarker(i)` (its index in the request's `images`), which the worker replaces with a URL
 * or data URL Together can read (`replaceSourceMarkers`) just before the call.
 */
export function sourceMarker(index: number): string {
  return `lorabot-source:${index}`;
}

/** What a source is written as in a body at accept time: its link, or its marker. */
export function sourceInBody(source: SourceImage, index: number): string {
  return source.kind === 'link' ? source.url : sourceMarker(index);
}

/**
 * A copy of `body` with every string that is a source marker replaced by `resolved[index]` (any depth). A marker
 * without a resolved value is an error: the body would send Together a string it cannot read.
 */
export function replaceSourceMarkers<T>(body: T, resolved: readonly string[]): T {
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string') {
      const match = /^lorabot-source:(\d+)$/.exec(value);
      if (!match) return value;
      const url = resolved[Number(match[1])];
      if (url === undefined) throw new Error(`No image was resolved for ${value}`);
      return url;
    }
    if (Array.isArray(value)) return value.map(walk);
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, walk(inner)]));
    }
    return value;
  };
  return walk(body) as T;
}
