import type { StepPost, StepRunner } from '../../src/core/delivery.js';
import type { FakeDiscord } from '../contract/fakes/fake-discord.js';

/**
 * Answers an interaction the fake Discord sent with a public message (CHANNEL_MESSAGE_WITH_SOURCE, type 4), as a
 * gateway answers a slash command with its status; returns that message's id (the job's `statusMessageId`).
 * @see https://discord.com/developers/docs/interactions/receiving-and-responding#create-interaction-response
 */
export async function answerPublicly(
  discord: FakeDiscord,
  interaction: { id: string; token: string },
  content: string,
): Promise<string> {
  const { id, token } = interaction;
  const response = await fetch(`${discord.apiUrl}/v10/interactions/${id}/${token}/callback`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 4, data: { content, allowed_mentions: { parse: [] } } }),
  });
  if (response.status !== 204) throw new Error(`the interaction was not answered: ${response.status}`);
  return discord.interaction(id)!.originalId!;
}

/** A journal in memory: each step runs once to completion. */
export function journal(job: string): { steps: StepRunner; post: (step: string) => StepPost } {
  const done = new Map<string, string>();
  const steps: StepRunner = {
    once: async (step, run) => {
      if (done.has(step)) return;
      await run({ job, step, retry: false, steps });
      done.set(step, '');
    },
    value: async (step, run) => {
      const known = done.get(step);
      if (known !== undefined) return known;
      const value = await run({ job, step, retry: false, steps });
      done.set(step, value);
      return value;
    },
  };
  return { steps, post: (step) => ({ job, step, retry: false, steps }) };
}
