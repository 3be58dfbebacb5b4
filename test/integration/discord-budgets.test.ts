import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DiscordHarness, startDiscordHarness } from '../helpers/discord-harness.js';
import { waitFor } from '../helpers/wait.js';

let h: DiscordHarness;
const USER = '333333333333333333';

beforeAll(async () => {
  h = await startDiscordHarness({ configExtra: ['budgets:', '  user_per_day_usd: 0.10'].join('\n') });
});

afterAll(async () => {
  await h.close();
});

function privateAnswer(id: string): string | undefined {
  // An ephemeral reply, or the private deferral once it is filled in.
  const message = h.discord.messages.find((m) => m.interaction_id === id && (m.flags & 64) !== 0);
  return message?.content || undefined;
}

describe('budgets and usage (Discord)', () => {
  it('blocks the 3rd image of the day past the daily budget, privately, stating spend and limit', async () => {
    for (let i = 1; i <= 2; i++) {
      const { id } = h.discord.sendCommand({
        name: 'flux',
        userId: USER,
        options: [{ name: 'prompt', type: 3, value: `dbudget ${i} --size 1024x768` }],
      });
      await waitFor(`image ${i}`, () =>
        h.discord.answersTo(id).some((m) => m.content.includes('Your image is ready')),
      );
    }
    const { id } = h.discord.sendCommand({
      name: 'flux',
      userId: USER,
      options: [{ name: 'prompt', type: 3, value: 'dbudget 3 --size 1024x768' }],
    });
    const answer = await waitFor('the refusal', () => privateAnswer(id));
    expect(answer).toBe(
      'Over budget: You have spent $0.07 of your daily budget of $0.10, and this request may cost $0.035. Nothing was queued or charged. Ask an admin to raise the budget, or try later.',
    );
    expect(h.together.calls.filter((c) => JSON.stringify(c.body).includes('dbudget 3'))).toHaveLength(0);
  });

  it('answers usage, presets and models privately', async () => {
    const usage = h.discord.sendCommand({
      name: 'flux',
      userId: USER,
      options: [{ name: 'prompt', type: 3, value: 'usage' }],
    });
    expect(await waitFor('usage', () => privateAnswer(usage.id))).toMatch(
      /^You: \$0\.07 of \$0\.10 today, \$0\.07 this month\./,
    );
    const presets = h.discord.sendCommand({
      name: 'flux',
      userId: USER,
      options: [{ name: 'prompt', type: 3, value: 'presets' }],
    });
    expect(await waitFor('presets', () => privateAnswer(presets.id))).toMatch(
      /^LoRA presets .*\n• tarot: scale 0\.9/,
    );
    const models = h.discord.sendCommand({
      name: 'ask',
      userId: USER,
      options: [{ name: 'question', type: 3, value: 'models' }],
    });
    expect(await waitFor('models', () => privateAnswer(models.id))).toMatch(/^Chat models/);
  });
});
