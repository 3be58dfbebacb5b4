import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { CommandLabels, Telemetry } from '../../core/ports.js';

/**
 * Prometheus metrics for `GET /metrics`: commands by platform, entry point, kind and outcome, jobs by outcome and state,
 * job and provider latency, provider errors, USD spent by model, and feedback on answers.
 */
export class Metrics implements Telemetry {
  readonly registry = new Registry();
  private readonly commands = new Counter({
    name: 'lorabot_commands_total',
    help: 'Commands, follow-ups and button presses received, by platform, entry point, kind and what became of them',
    labelNames: ['platform', 'entry', 'kind', 'outcome'],
    registers: [this.registry],
  });
  private readonly jobs = new Counter({
    name: 'lorabot_jobs_total',
    help: 'Jobs finished (done, failed) or sent back for another try (retried)',
    labelNames: ['kind', 'outcome'],
    registers: [this.registry],
  });
  private readonly jobSeconds = new Histogram({
    name: 'lorabot_job_duration_seconds',
    help: 'Time a worker spent on a job attempt',
    labelNames: ['kind', 'outcome'],
    buckets: [0.1, 0.5, 1, 2, 5, 10, 20, 40, 60, 120, 300],
    registers: [this.registry],
  });
  private readonly providerSeconds = new Histogram({
    name: 'lorabot_provider_request_duration_seconds',
    help: 'Together calls, including the client’s own retries',
    labelNames: ['kind', 'result'],
    buckets: [0.1, 0.5, 1, 2, 5, 10, 20, 40, 60, 120, 300],
    registers: [this.registry],
  });
  private readonly providerErrors = new Counter({
    name: 'lorabot_provider_errors_total',
    help: 'Failed Together calls by HTTP status or error code',
    labelNames: ['kind', 'status'],
    registers: [this.registry],
  });
  private readonly spentUsd = new Counter({
    name: 'lorabot_spent_usd_total',
    help: 'USD charged in the ledger, by model',
    labelNames: ['model'],
    registers: [this.registry],
  });

  private readonly feedbackVotes = new Counter({
    name: 'lorabot_feedback_total',
    help: 'Feedback presses (👍 up, 👎 down) on answers, by platform and whether the vote was new, changed or the same again',
    labelNames: ['platform', 'vote', 'change'],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'lorabot_process_' });
  }

  /** Jobs by queue and state, read from the queues at each scrape. */
  watchQueues(counts: () => Promise<Record<string, Record<string, number>>>): void {
    new Gauge({
      name: 'lorabot_queue_jobs',
      help: 'Jobs in each queue by state',
      labelNames: ['queue', 'state'],
      registers: [this.registry],
      async collect() {
        try {
          for (const [queue, states] of Object.entries(await counts())) {
            for (const [state, value] of Object.entries(states)) this.set({ queue, state }, value);
          }
        } catch {
          // Redis away: the scrape still answers, without queue figures.
        }
      },
    });
  }

  command(labels: CommandLabels): void {
    this.commands.inc({ ...labels });
  }

  job(kind: string, outcome: string, seconds: number): void {
    this.jobs.inc({ kind, outcome });
    this.jobSeconds.observe({ kind, outcome }, seconds);
  }

  provider(kind: string, result: string, seconds: number): void {
    this.providerSeconds.observe({ kind, result: result === 'ok' ? 'ok' : 'error' }, seconds);
    if (result !== 'ok') this.providerErrors.inc({ kind, status: result });
  }

  spent(model: string, micros: number): void {
    if (micros > 0) this.spentUsd.inc({ model }, micros / 1_000_000);
  }

  feedback(platform: string, vote: 'up' | 'down', change: 'new' | 'changed' | 'same'): void {
    this.feedbackVotes.inc({ platform, vote, change });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
