import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobData } from '../../src/core/jobs.js';
import { InteractionTokenStore } from '../../src/queue/interaction-tokens.js';
import { RedisKeys } from '../../src/queue/redis-keys.js';
import { type DiscordHarness, startDiscordHarness } from '../helpers/discord-harness.js';
import { waitFor } from '../helpers/wait.js';

let h: DiscordHarness;
let redis: Redis;

beforeAll(async () => {
  h = await startDiscordHarness();
  redis = new Redis(h.env.REDIS_URL!);
});

afterAll(async () => {
  redis.disconnect();
  await h.close();
});

/** Every BullMQ job hash under the test's prefix, field by field. */
async function jobHashes(): Promise<Array<Record<string, string>>> {
  const keys = await redis.keys(`${h.config.queue.prefix}:image:*`);
  const hashes: Array<Record<string, string>> = [];
  for (const key of keys) if ((await redis.type(key)) === 'hash') hashes.push(await redis.hgetall(key));
  return hashes.filter((hash) => hash.data !== undefined);
}

describe('Discord interaction tokens stay out of job data', () => {
  it('keeps the token in its own key that expires with it, and still edits the status through the follow-up webhook', async () => {
    const { discord, together } = h;
    together.inject('/images/generations', { kind: 'delay', ms: 1500 });
    const { id, token } = discord.sendCommand({
      name: 'flux',
      options: [{ name: 'prompt', type: 3, value: 'a lantern in fog --size 256x256' }],
    });
    // While the job waits or runs, its data (what Bull Board shows) has a reference, not the token.
    const [queued] = await waitFor('the queued job', async () => {
      const hashes = await jobHashes();
      return hashes.length > 0 ? hashes : undefined;
    });
    expect(JSON.stringify(queued)).not.toContain(token);
    const interaction = JSON.parse(queued!.data!).target.interaction;
    expect(interaction).toEqual({
      applicationId: discord.applicationId,
      expiresAt: expect.any(Number),
      tokenRef: expect.any(String),
    });
    const tokenKey = `${h.config.queue.prefix}:interaction-token:${interaction.tokenRef}`;
    expect(await redis.get(tokenKey)).toBe(token);
    const ttlMs = await redis.pttl(tokenKey);
    expect(ttlMs).toBeGreaterThan(13 * 60_000);
    expect(ttlMs).toBeLessThanOrEqual(15 * 60_000);

    const original = await waitFor('the final status', () => {
      const message = discord.publicReply(id);
      return message?.content.includes('Done') ? message : undefined;
    });
    // The status was posted and edited through the interaction's webhook; the image and the notice, new messages,
    // with the bot token (see discord-result-posts.test.ts).
    expect(original.via).toBe('webhook');
    const results = discord.answersTo(id).filter((m) => m.id !== original.id);
    expect(results.some((m) => m.attachments.length === 1 && m.via === 'bot')).toBe(true);
    expect(results.some((m) => m.content.includes('Your image is ready') && m.via === 'bot')).toBe(true);
    const byToken = discord.calls.filter((c) => c.path.includes(`/${token}`));
    expect(byToken.filter((c) => c.method === 'PATCH').length).toBeGreaterThanOrEqual(2);
    // The finished job BullMQ keeps for a day has no token either.
    const kept = await jobHashes();
    expect(kept.length).toBeGreaterThan(0);
    for (const hash of kept) expect(JSON.stringify(hash)).not.toContain(token);
  }, 30_000);

  it('stores no token that has already expired: the job keeps neither token nor reference, and goes by the bot token', async () => {
    const keys = new RedisKeys(`${h.config.queue.prefix}:expired-check`);
    const now = Date.parse('2026-12-01T12:00:00Z');
    const store = new InteractionTokenStore(redis, keys, () => now);
    const data = (expiresAt: number) =>
      ({
        kind: 'ask',
        target: {
          platform: 'discord',
          workspaceId: 'G1',
          channelId: 'C1',
          userId: 'U1',
          statusMessageId: 'M1',
          resultChannelId: 'C1',
          attachmentLimit: 10,
          interaction: { applicationId: 'A1', token: 'stale-token', expiresAt },
        },
      }) as unknown as JobData;
    const stale = await store.stash('job-stale', data(now - 1));
    expect(JSON.stringify(stale)).not.toContain('stale-token');
    expect(stale.target).toMatchObject({ interaction: { applicationId: 'A1', expiresAt: now - 1 } });
    expect(JSON.stringify(stale)).not.toContain('tokenRef');
    expect(await redis.exists(keys.interactionToken('job-stale'))).toBe(0);
    const fresh = await store.stash('job-fresh', data(now + 60_000));
    expect(JSON.stringify(fresh)).toContain('"tokenRef":"job-fresh"');
    expect(await store.get('job-fresh')).toBe('stale-token');
    await redis.del(keys.interactionToken('job-fresh'));
    expect(await store.get('job-fresh')).toBeUndefined();
  });
});
