import { Agent, type Dispatcher, request } from 'undici';
import type {
  FineTuneEstimate,
  JobLook,
  TogetherJobs,
  WatchedKind,
  WatchSnapshot,
} from '../../core/finetune.js';
import { usdToMicros } from '../../core/money.js';
import { togetherErrorFromResponse } from './http-status-error.js';
import { flattenHeaders, togetherErrorFromNetwork } from './network-error.js';
import { serverRequestedDelay } from './retry-policy.js';

export interface TogetherJobsOptions {
  baseUrl: string;
  apiKey: string | undefined;
  timeoutMs?: number;
  userAgent?: string;
  now?: () => number;
}

/** Together reports a fine-tune's `total_price` in nano-dollars (its Python SDK divides by 10^9 to print USD). */
const NANOS_PER_MICRO = 1000;

/**
 * Together's fine-tune and job endpoints over one small undici Agent: the watch poller's reads and `/ask
 * finetune`'s estimate and start. No retries here: a read that fails is looked at again at the poller's next turn
 * (after any `Retry-After`), and a start is never sent twice.
 * @see https://docs.together.ai/reference/get_fine-tunes-id
 * @see https://docs.together.ai/reference/get_fine-tunes-id-events
 * @see https://docs.together.ai/reference/get_jobs-jobid
 * @see https://docs.together.ai/reference/post_fine-tunes-estimate-price
 * @see https://docs.together.ai/reference/post_fine-tunes
 */
export class TogetherJobsClient implements TogetherJobs {
  private readonly base: string;
  private readonly agent = new Agent({ connections: 4, keepAliveTimeout: 30_000 });
  private readonly now: () => number;

  constructor(private readonly options: TogetherJobsOptions) {
    this.base = options.baseUrl.replace(/\/+$/, '');
    this.now = options.now ?? Date.now;
  }

  async look(id: string, kind: WatchedKind): Promise<JobLook> {
    try {
      const snapshot = kind === 'fine-tune' ? await this.fineTune(id) : await this.upload(id);
      return { ok: true, snapshot };
    } catch (error) {
      const { status, headers, message } = error as {
        status?: number;
        headers?: Record<string, string>;
        message?: string;
      };
      if (status === 404) return { ok: false, reason: 'gone' };
      const retryAfterMs = headers ? serverRequestedDelay(headers, this.now()) : undefined;
      return {
        ok: false,
        reason: 'later',
        detail: String(message),
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      };
    }
  }

  async estimate(body: Record<string, unknown>): Promise<FineTuneEstimate> {
    const json = (await this.call('POST', '/fine-tunes/estimate-price', body)) as {
      estimated_total_price?: number;
      allowed_to_proceed?: boolean;
    };
    const usd = Math.max(0, json.estimated_total_price ?? 0);
    return {
      micros: usdToMicros(Math.round(usd * 1e6) / 1e6) ?? 0,
      allowed: json.allowed_to_proceed !== false,
    };
  }

  async create(body: Record<string, unknown>): Promise<{ id: string }> {
    const json = (await this.call('POST', '/fine-tunes', body)) as { id?: string };
    if (typeof json.id !== 'string') throw new Error('Together answered a new fine-tune without an id');
    return { id: json.id };
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private async fineTune(id: string): Promise<WatchSnapshot> {
    const path = `/fine-tunes/${encodeURIComponent(id)}`;
    const job = (await this.call('GET', path)) as FineTuneJson;
    const events = ((await this.call('GET', `${path}/events`)) as { data?: EventJson[] }).data ?? [];
    const last = events.at(-1);
    const failure = [...events].reverse().find((e) => e.type === 'job_error' || e.level === 'error');
    const snapshot: WatchSnapshot = { kind: 'fine-tune', id, state: job.status };
    if (job.model) snapshot.model = job.model;
    if (job.model_output_name) snapshot.outputModel = job.model_output_name;
    if (job.progress?.estimate_available) snapshot.secondsRemaining = job.progress.seconds_remaining;
    if (job.queue_depth !== undefined) snapshot.queueDepth = job.queue_depth;
    if (typeof job.total_price === 'number')
      snapshot.priceMicros = Math.round(job.total_price / NANOS_PER_MICRO);
    if (last?.message) snapshot.lastEvent = last.message;
    if (failure?.message) snapshot.error = failure.message;
    return snapshot;
  }

  private async upload(id: string): Promise<WatchSnapshot> {
    const job = (await this.call('GET', `/jobs/${encodeURIComponent(id)}`)) as UploadJson;
    const last = job.status_updates?.at(-1);
    const snapshot: WatchSnapshot = { kind: 'upload', id, state: job.status };
    if (job.args?.modelName) {
      snapshot.model = job.args.modelName;
      snapshot.outputModel = job.args.modelName;
    }
    if (last?.message) snapshot.lastEvent = last.message;
    if (job.status === 'Failed' && last?.message) snapshot.error = last.message;
    return snapshot;
  }

  private async call(method: 'GET' | 'POST', path: string, body?: Record<string, unknown>): Promise<unknown> {
    const timeoutMs = this.options.timeoutMs ?? 30_000;
    let response: Dispatcher.ResponseData;
    try {
      response = await request(`${this.base}${path}`, {
        method,
        dispatcher: this.agent,
        signal: AbortSignal.timeout(timeoutMs),
        headers: {
          authorization: `Bearer ${this.options.apiKey ?? ''}`,
          accept: 'application/json',
          'user-agent': this.options.userAgent ?? 'lorabot',
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    } catch (error) {
      throw togetherErrorFromNetwork({ kind: 'chat', error, timedOut: false, timeoutMs });
    }
    const headers = flattenHeaders(response.headers);
    const text = await response.body.text();
    if (response.statusCode >= 400)
      throw togetherErrorFromResponse({ kind: 'chat', status: response.statusCode, headers, bodyText: text });
    return JSON.parse(text) as unknown;
  }
}

interface FineTuneJson {
  status: string;
  model?: string;
  model_output_name?: string;
  queue_depth?: number;
  total_price?: number;
  progress?: { estimate_available: boolean; seconds_remaining: number };
}

interface EventJson {
  message?: string;
  type?: string;
  level?: string | null;
}

interface UploadJson {
  status: string;
  status_updates?: Array<{ status: string; message: string }>;
  args?: { modelName?: string };
}
