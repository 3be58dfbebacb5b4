import { Cluster } from 'ioredis';
import type { Logger } from '../core/ports.js';
import type { ChatModel } from '../core/settings.js';
import type { RedisClient } from './redis-connection.js';
import type { RedisKeys } from './redis-keys.js';
import { errorText } from './worker-services.js';

/** A runtime preset as stored: the model, and who added it when. */
export interface StoredPreset extends ChatModel {
  addedBy?: string;
  addedAt?: string;
}

/** How often a following process reads the presets again anyway, in case a change was never heard. */
const BACKSTOP_MS = 30_000;
/** How soon a reload that failed (Redis away) is tried again. */
const RETRY_MS = 500;

/**
 * Chat model presets added at run time, in one Redis hash (name → JSON) under the `{lorabot}` hash tag, shared by
 * every gateway, worker and `lorabot models`. Each process keeps the copy it last read, and `follow()` keeps it
 * current: every add and remove is published on a channel, and a following process reads the hash again when it
 * hears one, when its subscription is made again (a change missed meanwhile heals), and every 30 s. Nothing that
 * answers a person waits on Redis for presets.
 */
export class ModelRegistry {
  private current: Readonly<Record<string, ChatModel>> = {};

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  /** The presets as last read. */
  models(): Readonly<Record<string, ChatModel>> {
    return this.current;
  }

  /** Reads the presets again; on a Redis error the last copy stays (and the error is thrown for the log). */
  async refresh(): Promise<Readonly<Record<string, ChatModel>>> {
    const stored = await this.redis.hgetall(this.keys.chatPresets());
    const models: Record<string, ChatModel> = {};
    for (const [name, json] of Object.entries(stored)) {
      const preset = parsePreset(json);
      if (preset && preset.name === name) models[name] = preset;
    }
    this.current = models;
    return models;
  }

  async list(): Promise<StoredPreset[]> {
    const stored = await this.redis.hgetall(this.keys.chatPresets());
    return Object.values(stored)
      .map(parsePreset)
      .filter((p): p is StoredPreset => p !== undefined)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Adds a preset unless one of that name was added already (false then); every following process hears of it. */
  async add(preset: StoredPreset): Promise<boolean> {
    const added = await this.redis.hsetnx(this.keys.chatPresets(), preset.name, JSON.stringify(preset));
    if (added === 1) await this.changed(preset.name);
    return added === 1;
  }

  /** Removes a preset; false when there was none of that name. */
  async remove(name: string): Promise<boolean> {
    const removed = await this.redis.hdel(this.keys.chatPresets(), name);
    if (removed === 1) await this.changed(name);
    else await this.refresh().catch(() => undefined);
    return removed === 1;
  }

  /**
   * Keeps this copy current until the returned function is called: subscribes on a connection of its own (a
   * subscribed connection can do nothing else), reads the hash in full on each message, each time that connection
   * is ready again (on a cluster also when a node leaves: the subscription moves) and every `backstopMs`, which
   * also covers a cluster moving a dropped subscription by itself (ioredis says nothing then); a read that fails is
   * tried again every 500 ms until one succeeds.
   */
  follow(logger: Logger, backstopMs = BACKSTOP_MS): () => void {
    const channel = this.keys.presetsChannel();
    const subscriber = this.redis.duplicate();
    let retry: NodeJS.Timeout | undefined;
    let stopped = false;
    const reload = () => {
      clearTimeout(retry);
      this.refresh().catch((error: unknown) => {
        logger.warn({ err: errorText(error) }, 'could not read the runtime model presets');
        if (!stopped) retry = setTimeout(reload, RETRY_MS).unref();
      });
    };
    const subscribe = () => {
      subscriber.subscribe(channel).then(reload, (error: unknown) => {
        logger.warn({ err: errorText(error) }, 'could not listen for runtime model presets');
      });
    };
    subscriber.on('error', (error: Error) =>
      logger.warn({ err: error.message }, 'runtime presets listener: Redis error'),
    );
    subscriber.on('message', reload);
    // Connected again (or at last): subscribe (ioredis may have already; a second SUBSCRIBE is harmless) and read.
    subscriber.on('ready', subscribe);
    // A cluster moves its subscription to another node when the one it used leaves.
    if (subscriber instanceof Cluster) subscriber.on('-node', reload);
    if (subscriber.status === 'ready') subscribe();
    const backstop = setInterval(reload, backstopMs).unref();
    return () => {
      stopped = true;
      clearInterval(backstop);
      clearTimeout(retry);
      subscriber.disconnect();
    };
  }

  /** After a change: this copy is read again, and every following process is told. */
  private async changed(name: string): Promise<void> {
    await this.refresh().catch(() => undefined);
    // Not heard (Redis gone since the write): the others' periodic reads find it.
    await this.redis.publish(this.keys.presetsChannel(), name).catch(() => undefined);
  }
}

function parsePreset(json: string): StoredPreset | undefined {
  try {
    const value = JSON.parse(json) as Partial<StoredPreset>;
    if (typeof value.name !== 'string' || typeof value.id !== 'string' || typeof value.maxTokens !== 'number')
      return undefined;
    return { ...value, pricing: value.pricing ?? { kind: 'auto' } } as StoredPreset;
  } catch {
    return undefined;
  }
}
