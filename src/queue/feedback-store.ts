import type { FeedbackCount, FeedbackVote, FeedbackVotes, Voter } from '../core/feedback.js';
import type { RedisClient } from './redis-connection.js';
import type { RedisKeys } from './redis-keys.js';

/** Votes are kept as long as the dashboard may list their job, and then some: 90 days after the last vote. */
const FEEDBACK_TTL_SECONDS = 90 * 86_400;

/**
 * 👍/👎 per job in Redis: one hash per job (`<prefix>:feedback:<job id>`), one field per person
 * (`platform:workspace:user`), so a person has one vote per job and a later press replaces it.
 */
export class FeedbackStore implements FeedbackVotes {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  private key(jobId: string): string {
    return `${this.keys.prefix}:feedback:${jobId}`;
  }

  async vote(jobId: string, voter: Voter, vote: FeedbackVote): Promise<FeedbackVote | undefined> {
    const key = this.key(jobId);
    const field = `${voter.platform}:${voter.workspaceId}:${voter.userId}`;
    // One transaction: the vote replaced is the one this write overwrote.
    const replies = await this.redis
      .multi()
      .hget(key, field)
      .hset(key, field, vote)
      .expire(key, FEEDBACK_TTL_SECONDS)
      .exec();
    const previous = replies?.[0]?.[1];
    return previous === 'up' || previous === 'down' ? previous : undefined;
  }

  async counts(jobIds: readonly string[]): Promise<Map<string, FeedbackCount>> {
    const counts = new Map<string, FeedbackCount>();
    if (jobIds.length === 0) return counts;
    // Sent together; on a Redis Cluster each hash is read from its own slot.
    const votes = await Promise.all(jobIds.map((id) => this.redis.hvals(this.key(id))));
    for (const [i, values] of votes.entries()) {
      if (values.length === 0) continue;
      const up = values.filter((v) => v === 'up').length;
      counts.set(jobIds[i]!, { up, down: values.length - up });
    }
    return counts;
  }
}
