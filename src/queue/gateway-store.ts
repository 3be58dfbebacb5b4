import type { Requester } from '../core/budget.js';
import type {
  ConversationRef,
  ConversationTurn,
  GatewayState,
  NotifyMode,
  PendingCommand,
} from '../core/jobs.js';
import type { RedisClient } from './redis-connection.js';
import type { RedisKeys } from './redis-keys.js';

/** Conversations are kept this long after their last turn. */
const CONVERSATION_TTL_SECONDS = 7 * 86_400;
/** A conversation keeps at most this many turns; the token budget trims further when a request is built. */
const MAX_TURNS = 100;

/**
 * What gateways and workers keep in Redis between interactions: notification settings, commands awaiting
 * Run/Cancel, and conversation turns (with the message ids that lead to each conversation).
 */
export class GatewayStore implements GatewayState {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  async notifyMode(requester: Requester): Promise<NotifyMode> {
    const mode = await this.redis.hget(
      this.keys.notify(requester.platform, requester.workspaceId),
      requester.userId,
    );
    return mode === 'dm' || mode === 'off' ? mode : 'thread';
  }

  async setNotifyMode(requester: Requester, mode: NotifyMode): Promise<void> {
    const key = this.keys.notify(requester.platform, requester.workspaceId);
    if (mode === 'thread') await this.redis.hdel(key, requester.userId);
    else await this.redis.hset(key, requester.userId, mode);
  }

  async putPending(id: string, pending: PendingCommand, ttlSeconds: number): Promise<void> {
    await this.redis.set(this.keys.pending(id), JSON.stringify(pending), 'EX', ttlSeconds);
  }

  /** GETDEL: of two presses of Run, only one gets the command. */
  async takePending(id: string): Promise<PendingCommand | undefined> {
    const text = await this.redis.getdel(this.keys.pending(id));
    return text === null ? undefined : (JSON.parse(text) as PendingCommand);
  }

  async findConversation(platform: 'slack' | 'discord', keyOrAlias: string): Promise<string | undefined> {
    const direct = `${platform}:${keyOrAlias}`;
    const [exists, alias] = await Promise.all([
      this.redis.exists(this.keys.conversation(direct)),
      this.redis.get(this.keys.conversationAlias(platform, keyOrAlias)),
    ]);
    if (exists === 1) return direct;
    return alias ?? undefined;
  }

  async conversationTurns(key: string): Promise<ConversationTurn[]> {
    const items = await this.redis.lrange(this.keys.conversation(key), 0, -1);
    return items.map((item) => JSON.parse(item) as ConversationTurn);
  }

  async openRequestThread(platform: Requester['platform'], threadRef: string, ttlSeconds: number) {
    await this.redis.set(this.keys.requestThread(platform, threadRef), '1', 'EX', ttlSeconds);
  }

  async isRequestThread(platform: Requester['platform'], threadRef: string): Promise<boolean> {
    return (await this.redis.exists(this.keys.requestThread(platform, threadRef))) === 1;
  }

  /** Adds a question and its answer to a conversation, and points its message ids at it. */
  async appendTurns(
    platform: 'slack' | 'discord',
    ref: ConversationRef,
    turns: ConversationTurn[],
  ): Promise<void> {
    const key = this.keys.conversation(ref.key);
    const multi = this.redis
      .multi()
      .rpush(key, ...turns.map((turn) => JSON.stringify(turn)))
      .ltrim(key, -MAX_TURNS, -1)
      .expire(key, CONVERSATION_TTL_SECONDS);
    for (const alias of ref.aliases) {
      multi.set(this.keys.conversationAlias(platform, alias), ref.key, 'EX', CONVERSATION_TTL_SECONDS);
    }
    await multi.exec();
  }
}
