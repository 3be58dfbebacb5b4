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

/**
 * Pushes a value onto the head of a list, keeps the newest `max`, and renews the list's TTL when one is given, in
 * one command. KEYS[1]: the list; ARGV: the value, `max`, the TTL in seconds (0: none).
 */
const PUSH_CAPPED = new LuaScript(
  'lorabotPushCapped',
  `
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
if tonumber(ARGV[3]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
return 1
`,
);

/** A short list of the newest entries (the Home tab's last jobs, the durations ETAs average). */
export async function pushCapped(
  redis: RedisClient,
  key: string,
  value: string,
  limits: { max: number; ttlSeconds?: number },
): Promise<void> {
  await PUSH_CAPPED.run(redis, [key], [value, limits.max, limits.ttlSeconds ?? 0]);
}
