import type { InteractionTokens, JobData } from '../core/jobs.js';
import type { RedisClient } from './redis-connection.js';
import type { RedisKeys } from './redis-keys.js';

/**
 * Discord interaction tokens, kept apart from job data: BullMQ keeps a job's data for a day (a week when it
 * failed) and Bull Board shows it, while a token lets anyone post as the bot in that channel for 15 minutes. The
 * gateway stores each token under its own key that expires with it; deliverers read it back while it lives and
 * fall back to the bot token after.
 */
export class InteractionTokenStore implements InteractionTokens {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly now: () => number = Date.now,
  ) {}

  /** The job's data without the token, which is stored under `ref` until it expires (not at all if it has). */
  async stash(ref: string, data: JobData): Promise<JobData> {
    const target = data.target;
    if (target.platform !== 'discord' || target.interaction?.token === undefined) return data;
    const { token, ...interaction } = target.interaction;
    const lifeMs = interaction.expiresAt - this.now();
    if (lifeMs <= 0) return { ...data, target: { ...target, interaction } };
    await this.redis.set(this.keys.interactionToken(ref), token, 'PX', lifeMs);
    return { ...data, target: { ...target, interaction: { ...interaction, tokenRef: ref } } };
  }

  async get(ref: string): Promise<string | undefined> {
    return (await this.redis.get(this.keys.interactionToken(ref))) ?? undefined;
  }
}
