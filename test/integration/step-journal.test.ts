import { describe, expect, it } from 'vitest';
import type { StepPost } from '../../src/core/jobs.js';
import { StepJournal } from '../../src/queue/step-journal.js';
import { ON_EACH_REDIS, suiteRedis } from '../helpers/redis.js';

describe.each(ON_EACH_REDIS)('the step journal on $where', ({ kind }) => {
  const redis = suiteRedis('step-journal', kind);
  const { keys } = redis;

  it('tells a step that an earlier attempt began it (a retry), and only then', async () => {
    const journal = new StepJournal(redis.client, keys);
    const seen: StepPost[] = [];
    await expect(
      journal.once('job-1', 'notify', async (post) => {
        seen.push(post);
        throw new Error('Slack answered 500');
      }),
    ).rejects.toThrow('Slack answered 500');
    await journal.once('job-1', 'notify', async (post) => {
      seen.push(post);
    });
    await journal.once('job-1', 'notify', async (post) => {
      seen.push(post);
    });
    expect(seen.map(({ job, step, retry }) => ({ job, step, retry }))).toEqual([
      { job: 'job-1', step: 'notify', retry: false },
      { job: 'job-1', step: 'notify', retry: true },
    ]);
    // A step another job began is no retry of this one.
    await journal.once('job-2', 'notify', async (post) => {
      seen.push(post);
    });
    expect(seen.at(-1)?.retry).toBe(false);
    expect(await journal.doneSteps('job-1')).toEqual(['notify']);
  });

  it('runs the hook between the platform call and the record: a hook that stops leaves the step begun', async () => {
    const calls: string[] = [];
    const crashing = new StepJournal(redis.client, keys, {
      afterRun: (jobId, step) => {
        calls.push(`${jobId} ${step}`);
        throw new Error('killed');
      },
    });
    await expect(crashing.value('job-3', 'answer:stream', async () => '1700000000.000100')).rejects.toThrow(
      'killed',
    );
    expect(calls).toEqual(['job-3 answer:stream']);
    expect(await crashing.peekValue('job-3', 'answer:stream')).toBeUndefined();
    const journal = new StepJournal(redis.client, keys);
    const retried = await journal.value('job-3', 'answer:stream', async (post) =>
      post.retry ? 'found' : 'new',
    );
    expect(retried).toBe('found');
    // Recorded now: later runs get the value without running.
    expect(await journal.value('job-3', 'answer:stream', async () => 'again')).toBe('found');
  });

  it('gives the step its journal, for a post made of parts', async () => {
    const journal = new StepJournal(redis.client, keys);
    const ids = await journal
      .forJob('job-4')
      .value('images', async (post) => post.steps.value(`${post.step}:files`, async () => '["F1"]'));
    expect(ids).toBe('["F1"]');
    expect((await journal.doneSteps('job-4')).sort()).toEqual(['value:images', 'value:images:files']);
  });

  it('marks a provider call begun, then saves its result and clears the mark in one step, each with a TTL', async () => {
    const journal = new StepJournal(redis.client, keys, { ttlSeconds: 600 });
    await journal.startCall('job-5', { attemptId: 'attempt-1', at: 1_700_000_000_000 });
    expect(await journal.startedCall('job-5')).toEqual({ attemptId: 'attempt-1', at: 1_700_000_000_000 });
    expect(await redis.client.ttl(keys.steps('job-5'))).toBeGreaterThan(590);
    await journal.saveCheckpoint('job-5', { images: ['a'] });
    expect(await journal.startedCall('job-5')).toBeUndefined();
    expect(await journal.loadCheckpoint('job-5')).toEqual({ images: ['a'] });
    expect(await redis.client.ttl(keys.checkpoint('job-5'))).toBeGreaterThan(86_000);
    expect(await journal.doneSteps('job-5')).toEqual([]);
  });
});
