import { describe, expect, it } from 'vitest';
import { nonceOf } from '../../../src/adapters/discord/discord-messages.js';
import type { StepPost, StepRunner } from '../../../src/core/jobs.js';

const steps: StepRunner = {
  once: async () => undefined,
  value: async () => '',
};
const post = (job: string, step: string): StepPost => ({ job, step, retry: false, steps });

describe('the nonce of a Discord message a job step posts', () => {
  it('is the same for the same job and step, at most 25 characters, and enforced', () => {
    const job = `discord-${'1'.repeat(19)}-${'2'.repeat(19)}`;
    const first = nonceOf(post(job, 'answer:12/40'));
    expect(first).toEqual(nonceOf({ ...post(job, 'answer:12/40'), retry: true }));
    expect(first.nonce!.length).toBeLessThanOrEqual(25);
    expect(first.enforce_nonce).toBe(true);
  });

  it('differs between steps and between jobs, even where plain joining would not', () => {
    const nonces = [
      nonceOf(post('job-1', 'notify')),
      nonceOf(post('job-1', 'images#0')),
      nonceOf(post('job-2', 'notify')),
      nonceOf(post('job-1 n', 'otify')),
      nonceOf(post('job-1', ' notify')),
    ].map((n) => n.nonce);
    expect(new Set(nonces).size).toBe(nonces.length);
  });

  it('is left out of a message no step posts', () => {
    expect(nonceOf(undefined)).toEqual({});
  });
});
