import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SlackFault } from '../contract/fakes/fake-slack.js';
import { type Harness, startHarness } from '../helpers/lorabot-harness.js';
import { waitFor } from '../helpers/wait.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h.close();
});

const faults: Array<[string, SlackFault]> = [
  ['429 with Retry-After', { kind: 'rate-limited', retryAfterSeconds: 1 }],
  ['HTTP 500', { kind: 'http', status: 500 }],
  ['ok:false internal_error', { kind: 'error', error: 'internal_error' }],
];

// Each call the worker makes for an image job; chat.postMessage skips the gateway's parent post.
const calls: Array<[string, number]> = [
  ['chat.update', 0],
  ['files.getUploadURLExternal', 0],
  ['files.completeUploadExternal', 0],
  ['chat.postMessage', 1],
];

describe('Slack faults on every call the deliverer makes', () => {
  let n = 0;
  for (const [method, skip] of calls) {
    for (const [name, fault] of faults) {
      it(`${method} answering ${name}: delivered once, nothing duplicated`, async () => {
        const channel = `C0PF${n++}`;
        h.slack.inject(method, fault, 1, skip);
        await h.slash({
          channel_id: channel,
          command: '/flux',
          text: `fault ${method} ${name} --size 256x256`,
        });
        const parent = await waitFor('the parent message', () => h.slack.parents(channel)[0]);
        await waitFor('the final status', () => parent.text.includes('Done'), 20_000);
        await new Promise((r) => setTimeout(r, 150));
        expect(h.slack.parents(channel)).toHaveLength(1);
        expect(h.slack.files.filter((f) => f.thread_ts === parent.ts)).toHaveLength(1);
        const notices = h.slack
          .thread(channel, parent.ts)
          .filter((m) => m.text.startsWith('<@U0PANDA> Your image is ready'));
        expect(notices).toHaveLength(1);
        const prompt = `fault ${method} ${name}`;
        expect(h.together.calls.filter((c) => JSON.stringify(c.body).includes(prompt))).toHaveLength(1);
        const outcomes = h.slack.calls.filter((c) => c.method === method).map((c) => c.outcome);
        expect(outcomes.some((o) => o !== 'ok')).toBe(true);
      });
    }
  }

  it('reports a permanent Slack error once and stops', async () => {
    const channel = 'C0PERM';
    // Every notice attempt fails for good: the job fails, and the failure cannot be posted either.
    h.slack.inject('chat.postMessage', { kind: 'error', error: 'channel_not_found' }, 20, 1);
    await h.slash({ channel_id: channel, command: '/ask', text: 'can you post here?' });
    const parent = await waitFor('the parent message', () => h.slack.parents(channel)[0]);
    await waitFor('the failed status', () => parent.text.includes('Failed'), 20_000);
    expect(parent.text).toContain('Something went wrong delivering the result');
    expect(
      h.slack.thread(channel, parent.ts).filter((m) => m.text.includes('Your answer is ready')),
    ).toHaveLength(0);
    // The answer message could not be opened, so Together was asked at most once (not once per attempt).
    expect(
      h.together.calls.filter((c) => JSON.stringify(c.body).includes('can you post here?')).length,
    ).toBeLessThanOrEqual(1);
    h.slack.inject('chat.postMessage', { kind: 'error', error: 'x' }, 0);
  });
});
