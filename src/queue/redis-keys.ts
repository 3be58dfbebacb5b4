/** Every Redis key lorabot writes outside BullMQ's own, under one prefix. */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  /** Set once per platform request (Slack trigger id, Discord interaction id): a redelivery finds it taken. */
  claim(requestKey: string): string {
    return `${this.prefix}:claim:${requestKey}`;
  }

  /** The provider's result for a job, kept until delivery is done, so a retried job does not call Together again. */
  checkpoint(jobId: string): string {
    return `${this.prefix}:checkpoint:${jobId}`;
  }

  /** Delivery steps already done for a job (a hash of step → time). */
  steps(jobId: string): string {
    return `${this.prefix}:steps:${jobId}`;
  }

  /** Marks a job as charged; the ledger writes its totals only when it sets this. */
  charged(jobId: string): string {
    return `${this.prefix}:ledger:charged:${jobId}`;
  }

  /** A spend total in micro-dollars, e.g. `ledgerTotal('user', 'slack:T1:U1', 'day', '2026-11-23')`. */
  ledgerTotal(
    scope: 'user' | 'channel' | 'workspace',
    id: string,
    period: 'day' | 'month',
    when: string,
  ): string {
    return `${this.prefix}:ledger:${scope}:${id}:${period}:${when}`;
  }

  /** The month's ledger entries, one JSON object each, for export. */
  ledgerEntries(month: string): string {
    return `${this.prefix}:ledger:entries:${month}`;
  }
}
