import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../core/ports.js';
import { type ListedModel, listedTokenRates } from '../core/pricing.js';
import type { PriceList, TokenRates } from '../core/settings.js';
import type { RedisClient } from './redis-connection.js';
import type { RedisKeys } from './redis-keys.js';

export interface SharedPriceListOptions {
  redis: RedisClient;
  keys: RedisKeys;
  logger: Logger;
  /**
   * Asks Together for its model list. Workers have it; a gateway does not (it never calls Together) and only
   * reads the list a worker stored.
   */
  fetchModels?: () => Promise<ListedModel[]>;
  /** How long a fetched list is used before Together is asked again: a day. */
  refreshMs?: number;
  /** How often each process looks at the stored list (and, in a worker, fetches it when it has expired). */
  pollMs?: number;
}

/** What is kept in Redis: the listed per-token rates by model id, and when Together was asked. */
interface StoredPrices {
  fetchedAt: number;
  rates: Record<string, TokenRates>;
}

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
/** Longer than one fetch takes; a worker that dies while fetching delays the next fetch by at most this much. */
const FETCH_LOCK_MS = 30_000;
const LOCK_WAIT_STEP_MS = 50;

/**
 * Together's per-token prices for chat presets priced `auto`, shared by every process through Redis. The list is
 * fetched from `GET /v1/models` at most once per `refreshMs` by whichever worker finds it expired first (a short
 * lock keeps the others from asking too: they wait for what it stores), stored with that lifetime, and read by all: the worker prices finished
 * answers with it and the gateway estimates for budgets with the same numbers. When Together cannot be reached,
 * the prices already known stay in use; a model Together lists no price for has none (its cost says "unknown").
 */
export class SharedPriceList implements PriceList {
  private rates = new Map<string, TokenRates>();
  private fetchedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  private readonly refreshMs: number;
  private readonly pollMs: number;

  constructor(private readonly options: SharedPriceListOptions) {
    this.refreshMs = options.refreshMs ?? DAY_MS;
    this.pollMs = options.pollMs ?? MINUTE_MS;
  }

  tokenRates(modelId: string): TokenRates | undefined {
    return this.rates.get(modelId);
  }

  /** When the prices in use were fetched from Together (ms since the epoch); 0: none yet. */
  get loadedAt(): number {
    return this.fetchedAt;
  }

  /** Loads the prices once (so the first answers are priced), then keeps them current until `close()`. */
  async start(): Promise<void> {
    await this.sync();
    this.timer ??= setInterval(() => void this.sync(), this.pollMs);
    // The poll alone must never keep a process alive.
    this.timer.unref();
  }

  /** One round: take the stored list, or (in a worker, when it has expired) fetch and store it for everyone. */
  sync(): Promise<void> {
    this.syncing ??= this.syncOnce().finally(() => {
      this.syncing = undefined;
    });
    return this.syncing;
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async syncOnce(): Promise<void> {
    const { redis, keys, logger } = this.options;
    try {
      let stored = parse(await redis.get(keys.togetherPrices()));
      if (!stored && this.options.fetchModels) stored = await this.fetchOrWait(this.options.fetchModels);
      if (stored && stored.fetchedAt !== this.fetchedAt) {
        this.rates = new Map(Object.entries(stored.rates));
        this.fetchedAt = stored.fetchedAt;
      }
    } catch (error) {
      logger.warn(
        { err: error instanceof Error ? error.message : String(error), pricesFrom: this.fetchedAt || null },
        "could not refresh Together's price list; keeping the prices already known",
      );
    }
  }

  /** Fetches and stores the list, or, when another worker is already fetching it, waits for what that one stores. */
  private async fetchOrWait(fetchModels: () => Promise<ListedModel[]>): Promise<StoredPrices | undefined> {
    const { redis, keys, logger } = this.options;
    if ((await redis.set(keys.togetherPricesLock(), '1', 'PX', FETCH_LOCK_MS, 'NX')) === 'OK') {
      try {
        const stored = { fetchedAt: Date.now(), rates: ratesOf(await fetchModels()) };
        await redis.set(keys.togetherPrices(), JSON.stringify(stored), 'PX', this.refreshMs);
        logger.info({ models: Object.keys(stored.rates).length }, "fetched Together's price list");
        return stored;
      } finally {
        await redis.del(keys.togetherPricesLock());
      }
    }
    // The lock expires by itself, so this wait ends even if the fetching worker died.
    while ((await redis.exists(keys.togetherPricesLock())) === 1) await sleep(LOCK_WAIT_STEP_MS);
    return parse(await redis.get(keys.togetherPrices()));
  }
}

function ratesOf(models: readonly ListedModel[]): Record<string, TokenRates> {
  const rates: Record<string, TokenRates> = {};
  for (const model of models) {
    const listed = listedTokenRates(model.pricing);
    if (listed) rates[model.id] = listed;
  }
  return rates;
}

function parse(text: string | null): StoredPrices | undefined {
  if (!text) return undefined;
  try {
    const value = JSON.parse(text) as StoredPrices;
    return typeof value.fetchedAt === 'number' && value.rates && typeof value.rates === 'object'
      ? value
      : undefined;
  } catch {
    return undefined;
  }
}
