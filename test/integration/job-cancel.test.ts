import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trimHistory } from '../../src/core/conversation.js';
import type { JobData } from '../../src/core/jobs.js';
import { JobProducer } from '../../src/queue/job-producer.js';
import { RedisKeys } from '../../src/queue/redis-keys.js';
import { deleteByPrefix, redisUrl } from '../helpers/redis.js';

const prefix = `{lorabot-test-${randomUUID().slice(0, 8)}}`;
let redis: Redis;
let producer: JobProducer;

beforeAll(async () => {
  redis = new Redis(redisUrl(), { maxRetriesPerRequest: null });
  producer = new JobProducer(redis, new RedisKeys(prefix), {
    attempts: 1,
    backoffMs: 100,
    keepCompletedSeconds: 60,
    keepFailedSeconds: 60,
    concurrency: { flux: 2, ask: 2 },
  });
});

afterAll(async () => {
  await producer.close();
  await deleteByPrefix(redis, prefix);
  redis.disconnect();
});

function job(userId: string, prompt: string): JobData {
  return {
    kind: 'flux',
    command: `/flux ${prompt}`,
    body: { prompt },
    estimateMicros: 35_000,
    receivedAt: Date.now(),
    request: { prompt, loras: [], width: 512, height: 512, steps: 28, n: 1 },
    target: { platform: 'slack', workspaceId: 'T1', channelId: 'C1', userId, parentTs: '1.1' },
  };
}

describe('/flux jobs and Cancel on the real queue (no worker running)', () => {
  it('lists a user’s queued jobs in order with positions, and removes a queued job on Cancel', async () => {
    await producer.enqueue('j1', job('U1', 'first'));
    await producer.enqueue('j2', job('U2', 'someone else'));
    await producer.enqueue('j3', job('U1', 'third'));
    await redis.lpush(new RedisKeys(prefix).durations('flux'), '10', '20');
    const mine = await producer.jobsOf({
      platform: 'slack',
      workspaceId: 'T1',
      channelId: 'C1',
      userId: 'U1',
    });
    expect(mine.map((j) => [j.jobId, j.state, j.position])).toEqual([
      ['j1', 'queued', 1],
      ['j3', 'queued', 3],
    ]);
    // 15 s on average, 2 at a time: position 3 waits for one round, then runs.
    expect(mine[1]!.etaSeconds).toBe(45);
    expect(await producer.cancel('j3', 'U1')).toBe('removed');
    expect(await producer.find('j3')).toBeUndefined();
    expect(await redis.get(new RedisKeys(prefix).cancelled('j3'))).toBe('U1');
    expect(await producer.cancel('nope', 'U1')).toBe('unknown');
    const after = await producer.jobsOf({
      platform: 'slack',
      workspaceId: 'T1',
      channelId: 'C1',
      userId: 'U1',
    });
    expect(after.map((j) => j.jobId)).toEqual(['j1']);
  });
});

describe('conversation history under a token budget', () => {
  it('keeps the newest whole turns that fit, never starts with an answer, and says whose they are', () => {
    const turns = [
      { role: 'user' as const, content: 'a'.repeat(400), userId: 'U1' },
      { role: 'assistant' as const, content: 'b'.repeat(400) },
      { role: 'user' as const, content: 'short question', userId: 'U2' },
      { role: 'assistant' as const, content: 'short answer' },
    ];
    const all = trimHistory(turns, 1000, 'U1');
    expect(all.kept).toBe(4);
    expect(all.note).toContain('questions from you and 1 other person');
    const some = trimHistory(turns, 150, 'U1');
    // 100 + 4 + 3 tokens fit; the question of the 100-token answer does not, so that answer goes too.
    expect(some.messages).toEqual([
      { role: 'user', content: 'short question' },
      { role: 'assistant', content: 'short answer' },
    ]);
    expect(some.note).toContain('2 older left out');
    expect(trimHistory(turns, 1, 'U1').note).toContain('Context: none');
  });
});
