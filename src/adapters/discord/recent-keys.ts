/**
 * Keys this process saw a refusal for, each kept for `ttlMs` and at most `limit` of them (the oldest forgotten
 * first): a place Discord said no to is not asked again on every job, and asked again once the while is over (an
 * admin may have changed a permission meanwhile).
 */
export class RecentKeys {
  private readonly until = new Map<string, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
    private readonly limit = 1000,
  ) {}

  remember(key: string): void {
    this.until.delete(key);
    this.until.set(key, this.now() + this.ttlMs);
    if (this.until.size > this.limit) this.until.delete(this.until.keys().next().value!);
  }

  has(key: string): boolean {
    const until = this.until.get(key);
    if (until === undefined) return false;
    if (this.now() < until) return true;
    this.until.delete(key);
    return false;
  }
}
