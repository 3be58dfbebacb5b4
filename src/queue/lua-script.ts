import type { RedisClient } from './redis-connection.js';

/** What a script takes after its keys. */
export type ScriptArg = string | number | Buffer;

/**
 * One of lorabot's Lua scripts, run by its SHA1 (`EVALSHA`, through ioredis' `defineCommand`): the text is sent
 * once on each connection (`EVAL`), not on every call. A server that has forgotten it (restarted, or a cluster node
 * a slot moved to) answers `NOSCRIPT`, and ioredis sends the text again, once. Every key a script touches is in
 * `keys`, so it runs on one slot of a Redis Cluster.
 */
export class LuaScript {
  /** The connections this script is defined on. */
  private readonly defined = new WeakSet<RedisClient>();

  /** `name` must be unique among lorabot's scripts and unlike any Redis command (it becomes a method). */
  constructor(
    private readonly name: string,
    private readonly lua: string,
  ) {}

  run(redis: RedisClient, keys: readonly string[], args: readonly ScriptArg[]): Promise<unknown> {
    if (!this.defined.has(redis)) {
      redis.defineCommand(this.name, { lua: this.lua });
      this.defined.add(redis);
    }
    const command = (redis as unknown as Record<string, (...all: unknown[]) => Promise<unknown>>)[this.name]!;
    return command.call(redis, keys.length, ...keys, ...args);
  }
}

