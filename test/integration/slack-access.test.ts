import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/lorabot-harness.js';
import { waitFor } from '../helpers/wait.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    configExtra: ['access:', '  slack: { workspaces: [T0LORABOT], channels: [C0ALLOWED] }'].join('\n'),
  });
});

afterAll(async () => {
  await h.close();
});

describe('access control (Slack)', () => {
  it('answers "not enabled here" privately in a channel outside the allowlist and queues nothing', async () => {
    const result = await h.slash({ channel_id: 'C0ELSEWHERE', command: '/flux', text: 'a panda' });
    expect(result.status).toBe(200);
    expect(JSON.parse(result.text)).toEqual({
      response_type: 'ephemeral',
      text: 'lorabot is not enabled here. Ask an admin to allow this channel. Nothing was queued or charged.',
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(h.slack.parents('C0ELSEWHERE')).toHaveLength(0);
    expect(h.together.calls).toHaveLength(0);
    const counts = await h.running.producer!.queues.image.getJobCounts();
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0);
  });

  it('serves an allowed channel', async () => {
    await h.slash({ channel_id: 'C0ALLOWED', command: '/ask', text: 'am I allowed?' });
    const parent = await waitFor('the parent message', () => h.slack.parents('C0ALLOWED')[0]);
    await waitFor('the final status', () => parent.text.includes('Done'));
  });
});
