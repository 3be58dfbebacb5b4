import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/lorabot-harness.js';
import { waitFor } from '../helpers/wait.js';

let h: Harness;

beforeAll(async () => {
  // A default size of 1.05 MP, billed as 2: allowed, but worth a warning when the gateway starts.
  h = await startHarness({
    configExtra: 'image:\n  defaults: { width: 1024, height: 1024, steps: 28, n: 1 }',
  });
});

afterAll(async () => {
  await h.close();
});

describe('a configured default size just past a megapixel', () => {
  it('is warned about once at start-up and still used as configured', async () => {
    const warnings = h.logs.filter((line) => line.includes('image.defaults: 1024x1024 is billed as 2 MP'));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0]!)).toMatchObject({
      level: 40,
      key: 'image.defaults',
      msg: 'image.defaults: 1024x1024 is billed as 2 MP; 1000x1000 costs $0.035 instead of $0.07. Every /flux without --size or --ar pays this.',
    });

    const channel = 'C0DEFAULTS';
    await h.slash({ channel_id: channel, command: '/flux', text: 'a fox' });
    const parent = await waitFor('the parent message', () => h.slack.parents(channel)[0]);
    await waitFor('the result', () => parent.text.includes('Done'));
    expect(parent.text).toContain('Cost: $0.07 (1 image × 2 MP × $0.035/MP)');
    expect(h.together.callsTo('/images/generations').at(-1)!.body).toMatchObject({
      width: 1024,
      height: 1024,
    });
    // --ar uses the two megapixels the default is billed for, and not a pixel more.
    await h.slash({ channel_id: channel, command: '/flux', text: 'a wide fox --ar 16:9' });
    await waitFor('the second result', () => h.slack.parents(channel)[1]?.text.includes('Done'));
    expect(h.together.callsTo('/images/generations').at(-1)!.body).toMatchObject({
      width: 1880,
      height: 1056,
    });
  });
});
