import type { ChatModel } from '../core/settings.js';
import type { RedisClient } from './redis-connection.js';
import type { RedisKeys } from './redis-keys.js';

/** A runtime preset as stored: the model, and who added it when. */
export interface StoredPreset extends ChatModel {
  addedBy?: string;
  addedAt?: string;
}

/**
 * Chat model presets added at run time, in one Redis hash (name → JSON) under the `{lorabot}` hash tag, shared by
 * every gateway, worker and `lorabot models`. Each process keeps the last copy it read; `refresh()` (one HGETALL)
 * runs before each command and each chat job, so a preset added anywhere is usable everywhere at once.
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

  /** Adds a preset unless one of that name was added already (false then). */
  async add(preset: StoredPreset): Promise<boolean> {
    const added = await this.redis.hsetnx(this.keys.chatPresets(), preset.name, JSON.stringify(preset));
    if (added === 1) await this.refresh().catch(() => undefined);
    return added === 1;
  }

  /** Removes a preset; false when there was none of that name. */
  async remove(name: string): Promise<boolean> {
    const removed = await this.redis.hdel(this.keys.chatPresets(), name);
    await this.refresh().catch(() => undefined);
    return removed === 1;
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
