import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody } from './http-body.js';
import { togetherSpec } from './openapi-validator.js';

/**
 * Together's fine-tune and job endpoints as the fake plays them (shapes from test/contract/schemas/
 * together.openapi.json, Together APIs 2.0.0): a fine-tune moves through pending → queued → running → compressing →
 * uploading → completed, one state per `stepMs` from its start, with events and a growing `total_price`
 * (nano-dollars); one set to fail ends in `error` with a `job_error` event; an upload job (`GET /v1/jobs/{id}`)
 * goes Queued → Running → Complete (or Failed). Unknown ids are Together's 404; request bodies are checked against
 * the owned schema, and the next reads can be refused with 429 and `Retry-After`.
 * @see https://docs.together.ai/reference/get_fine-tunes-id
 */

const FT_STATES = ['pending', 'queued', 'running', 'compressing', 'uploading', 'completed'] as const;
const UPLOAD_STATES = ['Queued', 'Running', 'Complete'] as const;
/** What a fine-tune costs in the fake when it is done: $4.20 in Together's nano-dollars. */
const FULL_PRICE_NANOS = 4_200_000_000;

export interface FakeFineTuneOptions {
  /** How long each state lasts (ms). */
  stepMs: number;
  /** Fail with this message when `running` would end. */
  failWith?: string;
  model?: string;
  outputModel?: string;
}

interface FineTune extends FakeFineTuneOptions {
  kind: 'fine-tune' | 'upload';
  startedAt: number;
}

export interface FineTuneCall {
  method: string;
  path: string;
  body: unknown;
  schemaErrors: string[];
  at: number;
}

export class FakeFineTunes {
  readonly calls: FineTuneCall[] = [];
  private readonly jobs = new Map<string, FineTune>();
  private limited: Array<{ retryAfterSeconds: number }> = [];
  now: () => number = Date.now;

  /** A fine-tune that starts now. */
  addFineTune(id: string, options: FakeFineTuneOptions): void {
    this.jobs.set(id, { ...options, kind: 'fine-tune', startedAt: this.now() });
  }

  /** An adapter upload that starts now. */
  addUpload(id: string, options: FakeFineTuneOptions): void {
    this.jobs.set(id, { ...options, kind: 'upload', startedAt: this.now() });
  }

  /** Forgets a job: Together answers 404 for it from now on. */
  forget(id: string): void {
    this.jobs.delete(id);
  }

  /** The next `times` reads answer 429 with `Retry-After: <seconds>`. */
  rateLimit(times: number, retryAfterSeconds: number): void {
    for (let i = 0; i < times; i++) this.limited.push({ retryAfterSeconds });
  }

  /** Reads of one job (fine-tune or upload, events excluded). */
  readsOf(id: string): FineTuneCall[] {
    return this.calls.filter(
      (c) => c.method === 'GET' && /^\/(fine-tunes|jobs)\/[^/]+$/.test(c.path) && c.path.endsWith(`/${id}`),
    );
  }

  handles(method: string | undefined, path: string): boolean {
    return (
      (method === 'GET' && /^\/(fine-tunes\/[^/]+(\/events)?|jobs\/[^/]+)$/.test(path)) ||
      (method === 'POST' && (path === '/fine-tunes' || path === '/fine-tunes/estimate-price'))
    );
  }

  async serve(req: IncomingMessage, res: ServerResponse, path: string, apiKey: string): Promise<void> {
    const raw = req.method === 'POST' ? (await readBody(req)).toString('utf8') : '';
    const body: unknown = raw ? JSON.parse(raw) : undefined;
    const spec = togetherSpec();
    const schemaErrors =
      req.method === 'POST' ? spec.errors(spec.requestBodyPointer(path, 'post'), body) : [];
    this.calls.push({ method: req.method ?? '', path, body, schemaErrors, at: this.now() });
    if (req.headers.authorization !== `Bearer ${apiKey}`)
      return send(res, 401, errorOf('Invalid API key provided.'));
    if (schemaErrors.length > 0)
      return send(res, 400, errorOf(`Invalid request: ${schemaErrors.join('; ')}`));
    if (req.method === 'POST' && path === '/fine-tunes/estimate-price')
      return send(res, 200, {
        estimated_total_price: 4.2,
        allowed_to_proceed: true,
        estimated_train_token_count: 120000,
      });
    if (req.method === 'POST') return this.create(res, body as { model: string });
    const limit = this.limited.shift();
    if (limit)
      return send(res, 429, errorOf('Rate limit exceeded'), {
        'retry-after': String(limit.retryAfterSeconds),
      });
    const match = /^\/(fine-tunes|jobs)\/([^/]+)(\/events)?$/.exec(path)!;
    const job = this.jobs.get(match[2]!);
    if (!job || (match[1] === 'jobs') !== (job.kind === 'upload'))
      return send(res, 404, errorOf(`Job ${match[2]} not found`));
    if (job.kind === 'upload') return send(res, 200, this.uploadBody(match[2]!, job));
    return send(res, 200, match[3] ? { data: this.events(job) } : this.fineTuneBody(match[2]!, job));
  }

  private create(res: ServerResponse, body: { model: string }): void {
    const id = `ft-${randomUUID()}`;
    this.addFineTune(id, {
      stepMs: 400,
      model: body.model,
      outputModel: `lorabot-team/${body.model.split('/').pop()}-ft`,
    });
    const at = new Date(this.now()).toISOString();
    send(res, 200, { id, status: 'pending', created_at: at, updated_at: at, model: body.model });
  }

  /** The state index reached now; a failing job stops at `running` (index 2) and then errors. */
  private step(job: FineTune, states: number): { index: number; failed: boolean } {
    const index = Math.min(states - 1, Math.floor((this.now() - job.startedAt) / job.stepMs));
    if (job.failWith && index > 2) return { index: 2, failed: true };
    return { index, failed: false };
  }

  private fineTuneBody(id: string, job: FineTune) {
    const { index, failed } = this.step(job, FT_STATES.length);
    const status = failed ? 'error' : FT_STATES[index]!;
    const done = status === 'completed';
    const remainingMs = Math.max(0, job.startedAt + job.stepMs * (FT_STATES.length - 1) - this.now());
    return {
      id,
      status,
      model: job.model ?? 'meta-llama/Meta-Llama-3.1-8B-Instruct-Reference',
      ...(done ? { model_output_name: job.outputModel ?? `lorabot-team/${id}-adapter` } : {}),
      queue_depth: status === 'queued' ? 3 : 0,
      total_price: Math.round((FULL_PRICE_NANOS * Math.min(index, 5)) / 5),
      progress: { estimate_available: index >= 2, seconds_remaining: Math.ceil(remainingMs / 1000) },
    };
  }

  private events(job: FineTune) {
    const { index, failed } = this.step(job, FT_STATES.length);
    const kinds: Array<[string, string, string]> = [
      ['job_pending', 'info', 'Fine-tune request created'],
      ['job_start', 'info', 'Job started'],
      ['epoch_complete', 'info', 'Epoch 1 of 1 complete'],
      ['model_compressing', 'info', 'Compressing the model'],
      ['model_uploading', 'info', 'Uploading the model'],
      ['job_complete', 'info', 'Job finished'],
    ];
    const shown = kinds.slice(0, index + 1);
    if (failed) shown.push(['job_error', 'error', job.failWith!]);
    return shown.map(([type, level, message], i) => ({
      object: 'fine-tune-event',
      created_at: new Date(job.startedAt + i * job.stepMs).toISOString(),
      level,
      message,
      type,
      param_count: 0,
      token_count: 0,
      total_steps: 0,
      wandb_url: '',
      step: i,
      checkpoint_path: '',
      model_path: '',
      training_offset: 0,
      hash: '',
    }));
  }

  private uploadBody(id: string, job: FineTune) {
    const { index } = this.step(job, UPLOAD_STATES.length);
    const failed = job.failWith !== undefined && index === UPLOAD_STATES.length - 1;
    const status = failed ? 'Failed' : UPLOAD_STATES[index]!;
    const at = new Date(job.startedAt).toISOString();
    return {
      type: 'model_upload',
      job_id: id,
      status,
      status_updates: UPLOAD_STATES.slice(0, index + 1).map((s, i) => ({
        status: s,
        message: failed && i === index ? job.failWith! : `${s}`,
        timestamp: new Date(job.startedAt + i * job.stepMs).toISOString(),
      })),
      args: { modelName: job.outputModel ?? `lorabot-team/${id}` },
      created_at: at,
      updated_at: new Date(this.now()).toISOString(),
    };
  }
}

function errorOf(message: string) {
  return { error: { message, type: 'invalid_request_error', param: null, code: null } };
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': randomUUID(), ...headers });
  res.end(JSON.stringify(body));
}
