import { splitWords } from './command-tokens.js';
import { type UserError, userError } from './lorabot-error.js';
import { formatUsd, type Micros } from './money.js';
import { err, ok, type Result } from './result.js';

/**
 * Together's long jobs as lorabot watches them: fine-tunes (`ft-…`, `GET /v1/fine-tunes/{id}`) and adapter uploads
 * (`job-…`, `GET /v1/jobs/{id}`). Pure: the grammar of `/ask watch` and `/ask finetune`, how often to poll in each
 * state, and the words of the status message and the end notice. Platforms escape the text they are given.
 * @see https://docs.together.ai/reference/get_fine-tunes-id
 * @see https://docs.together.ai/reference/get_jobs-jobid
 */

/** What a watch follows: a fine-tune or an upload job. */
export type WatchedKind = 'fine-tune' | 'upload';

/** `/ask finetune` as typed: the training file, the base model, epochs, LoRA or full. */
export interface FineTuneRequest {
  trainingFile: string;
  model: string;
  epochs: number;
  lora: boolean;
}

/** The most epochs `/ask finetune` accepts (Together's own bound is per model; this guards against a typo). */
export const MAX_EPOCHS = 20;

export const WATCH_USAGE = '/ask watch <ft-… or job-…>';
export const FINETUNE_USAGE = '/ask finetune <training-file-id> --model <base> [--epochs <N>] [--lora]';

/** A Together job id: `ft-` or `job-` and the id's own characters (letters, digits, dashes). */
const JOB_ID = /^(ft|job)-[A-Za-z0-9-]{1,100}$/;

/** The kind of job an id names, or undefined when it names none. */
export function watchedKindOf(id: string): WatchedKind | undefined {
  const match = JOB_ID.exec(id);
  if (!match) return undefined;
  return match[1] === 'ft' ? 'fine-tune' : 'upload';
}

/** `/ask watch <id>`: the id, checked. */
export function parseWatch(text: string): Result<{ id: string; kind: WatchedKind }, UserError> {
  const words = splitWords(text);
  const id = words[0];
  const kind = id === undefined ? undefined : watchedKindOf(id);
  if (words.length !== 1 || !id || !kind)
    return err(
      userError(
        'bad_watch_id',
        `Give one fine-tune id (\`ft-…\`) or upload job id (\`job-…\`): \`${WATCH_USAGE}\`.`,
      ),
    );
  return ok({ id, kind });
}

/** `/ask finetune <training-file-id> --model <base> [--epochs N] [--lora]`. */
export function parseFineTune(text: string): Result<FineTuneRequest, UserError> {
  const words = splitWords(text);
  const rest: string[] = [];
  let model: string | undefined;
  let epochs: number | undefined;
  let lora = false;
  const usage = (code: string, what: string) => err(userError(code, `${what} Use \`${FINETUNE_USAGE}\`.`));
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!.replace(/^[\u2014\u2013]/, '--');
    const [flag, inline] = word.split('=', 2) as [string, string | undefined];
    if (flag === '--lora' && inline === undefined) {
      lora = true;
      continue;
    }
    if (flag !== '--model' && flag !== '--epochs') {
      if (word.startsWith('--')) return usage('unknown_option', `Unknown option \`${word}\`.`);
      rest.push(word);
      continue;
    }
    const value = inline ?? words[++i];
    if (!value || value.startsWith('--')) return usage('missing_value', `\`${flag}\` needs a value.`);
    if (flag === '--model') {
      if (model !== undefined) return usage('duplicate_option', '`--model` is given twice; keep one.');
      model = value;
    } else {
      if (epochs !== undefined) return usage('duplicate_option', '`--epochs` is given twice; keep one.');
      epochs = Number(value);
      if (!/^\d+$/.test(value) || epochs < 1 || epochs > MAX_EPOCHS)
        return usage('bad_epochs', `\`--epochs\` is a whole number from 1 to ${MAX_EPOCHS}.`);
    }
  }
  if (rest.length !== 1 || !/^file-[A-Za-z0-9-]{1,100}$/.test(rest[0]!))
    return usage('bad_training_file', 'Give one training file id (`file-…`, from `together files upload`).');
  if (!model) return usage('missing_model', 'Name the base model with `--model`.');
  return ok({ trainingFile: rest[0]!, model, epochs: epochs ?? 1, lora });
}

/** The body of `POST /v1/fine-tunes` (and of its estimate): what `/ask finetune` asked for. */
export function fineTuneBody(request: FineTuneRequest): Record<string, unknown> {
  return {
    training_file: request.trainingFile,
    model: request.model,
    n_epochs: request.epochs,
    ...(request.lora
      ? { training_type: { type: 'Lora', lora_r: 8, lora_alpha: 16 } }
      : { training_type: { type: 'Full' } }),
  };
}

/** The command as shown back: the same words the person typed, normalised. */
export function fineTuneCommand(request: FineTuneRequest): string {
  const epochs = request.epochs === 1 ? '' : ` --epochs ${request.epochs}`;
  return `/ask finetune ${request.trainingFile} --model ${request.model}${epochs}${request.lora ? ' --lora' : ''}`;
}

/** A watched job as last seen: Together's state and what lorabot shows of it. */
export interface WatchSnapshot {
  kind: WatchedKind;
  id: string;
  /** Together's state: a fine-tune's `status`, or an upload's `Queued|Running|Complete|Failed`. */
  state: string;
  /** The base model (fine-tunes) or the upload's model name. */
  model?: string;
  /** The model a completed job made (`model_output_name`, or an upload's `modelName`). */
  outputModel?: string;
  secondsRemaining?: number;
  queueDepth?: number;
  /** The newest event's message (fine-tunes) or status update (uploads). */
  lastEvent?: string;
  /** Together's `total_price` so far, in micro-dollars. */
  priceMicros?: Micros;
  /** The error event's message, when it failed. */
  error?: string;
}

/** How a watch ended. */
export type WatchEnd = 'completed' | 'failed' | 'cancelled' | 'gone';

/** The end a state means, or undefined while the job goes on. */
export function endOf(snapshot: Pick<WatchSnapshot, 'state'>): WatchEnd | undefined {
  switch (snapshot.state) {
    case 'completed':
    case 'Complete':
      return 'completed';
    case 'error':
    case 'Failed':
      return 'failed';
    case 'cancelled':
      return 'cancelled';
    default:
      return undefined;
  }
}

/** How often a watch is polled: while the job works, while it waits for a GPU. */
export interface WatchCadence {
  activeMs: number;
  waitingMs: number;
}

/** Together's defaults as the issue asks: every 30 s while running, every 5 min while queued. */
export const DEFAULT_CADENCE: WatchCadence = { activeMs: 30_000, waitingMs: 300_000 };

/** The states in which a job only waits (nothing changes faster than the queue moves). */
const WAITING_STATES = new Set(['pending', 'queued', 'Queued']);

/**
 * When to look again, or undefined when the job has ended: the state's cadence, or later when Together asked for
 * it (a 429's `Retry-After`).
 */
export function nextPollMs(state: string, cadence: WatchCadence, retryAfterMs?: number): number | undefined {
  if (endOf({ state })) return undefined;
  const base = WAITING_STATES.has(state) ? cadence.waitingMs : cadence.activeMs;
  return Math.max(base, retryAfterMs ?? 0);
}

/** Requests an hour a watch costs at a cadence: one GET (a fine-tune also reads its events: two). */
export function requestsPerHour(intervalMs: number, kind: WatchedKind): number {
  return Math.round((3_600_000 / intervalMs) * (kind === 'fine-tune' ? 2 : 1));
}

const KIND_WORDS: Record<WatchedKind, string> = { 'fine-tune': 'Fine-tune', upload: 'Upload' };

/** The status message's lines (plain text; the platform escapes it and adds the Watch button). */
export function watchStatusText(snapshot: WatchSnapshot, watchers: number): string {
  const head = `👀 ${KIND_WORDS[snapshot.kind]} ${snapshot.id}${snapshot.model ? ` (${snapshot.model})` : ''}`;
  const facts = [snapshot.state];
  if (snapshot.secondsRemaining !== undefined && !endOf(snapshot))
    facts.push(`about ${duration(snapshot.secondsRemaining)} left`);
  if (snapshot.queueDepth !== undefined && snapshot.queueDepth > 0)
    facts.push(`queue depth ${snapshot.queueDepth}`);
  if (snapshot.priceMicros !== undefined) facts.push(`$${formatUsd(snapshot.priceMicros)} so far`);
  const lines = [head, facts.join(' · ')];
  if (snapshot.lastEvent) lines.push(`Last event: ${snapshot.lastEvent}`);
  lines.push(`${watchers} watching. Press Watch to be told when it ends.`);
  return lines.join('\n');
}

/** A preset name suggested for a job's output model: its last path part, lower case, safe for `--model`. */
export function suggestedPresetName(outputModel: string): string {
  const last = outputModel.split('/').pop() ?? outputModel;
  const name = last
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return name.slice(0, 40) || 'fine-tune';
}

/** The end notice after the mentions (plain text). */
export function watchEndText(snapshot: WatchSnapshot, end: WatchEnd): string {
  const what = `${KIND_WORDS[snapshot.kind]} ${snapshot.id}`;
  const price =
    snapshot.priceMicros !== undefined ? ` Total price: $${formatUsd(snapshot.priceMicros)}.` : '';
  switch (end) {
    case 'completed': {
      if (!snapshot.outputModel) return `${what} completed.${price}`;
      const name = suggestedPresetName(snapshot.outputModel);
      return (
        `${what} completed: the model is ${snapshot.outputModel}.${price}\n` +
        `An admin can press Add as model; then ask it with: /ask --model ${name} <your question>`
      );
    }
    case 'failed':
      return `${what} failed: ${snapshot.error ?? snapshot.lastEvent ?? 'Together gave no reason.'}${price}`;
    case 'cancelled':
      return `${what} was cancelled.${price}`;
    case 'gone':
      return `${what} is no longer known to Together (it may have been deleted, or the id is wrong), so the watch has ended.`;
  }
}

function duration(seconds: number): string {
  if (seconds < 90) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/**
 * One look at a watched job: its snapshot, `gone` when Together no longer knows it (404), or `later` when Together
 * is busy or unreachable (429, 5xx, network), with the wait it asked for.
 */
export type JobLook =
  | { ok: true; snapshot: WatchSnapshot }
  | { ok: false; reason: 'gone' }
  | { ok: false; reason: 'later'; retryAfterMs?: number; detail: string };

/** Together's price estimate for a fine-tune (`POST /v1/fine-tunes/estimate-price`). */
export interface FineTuneEstimate {
  micros: Micros;
  /** Together's `allowed_to_proceed`: false when the account's limit would be passed. */
  allowed: boolean;
}

/** The port to Together's fine-tune and job endpoints, for the watch poller and `/ask finetune`. */
export interface TogetherJobs {
  look(id: string, kind: WatchedKind): Promise<JobLook>;
  /** Throws a `LorabotError` whose `userMessage` can be posted. */
  estimate(body: Record<string, unknown>): Promise<FineTuneEstimate>;
  /** Starts a fine-tune; the new job's id. Throws a `LorabotError` whose `userMessage` can be posted. */
  create(body: Record<string, unknown>): Promise<{ id: string }>;
}

/** What a watch's message shows, for a platform to render: the snapshot and how many watch it. */
export interface WatchView {
  snapshot: WatchSnapshot;
  watchers: number;
  /** Set once the job has ended: the Watch button goes. */
  end?: WatchEnd;
}

/** The notice when a watched job ends: who to mention, the words, and whether Add as model is offered. */
export interface WatchNotice {
  snapshot: WatchSnapshot;
  end: WatchEnd;
  /** Everyone who watched, by platform user id: each is mentioned (the only mentions lorabot adds). */
  watchers: readonly string[];
  text: string;
  /** Offer Add as model (a completed job with an output model). */
  addModel: boolean;
}

/** The notice for an ended watch. */
export function watchNotice(
  snapshot: WatchSnapshot,
  end: WatchEnd,
  watchers: readonly string[],
): WatchNotice {
  return {
    snapshot,
    end,
    watchers,
    text: watchEndText(snapshot, end),
    addModel: end === 'completed' && snapshot.outputModel !== undefined,
  };
}
