import { describe, expect, it } from 'vitest';
import { followUp } from '../../../src/app/intake.js';
import type { ConversationTurn, GatewayState } from '../../../src/core/jobs.js';
import type { SourceImage } from '../../../src/core/requests.js';
import { visionSettings } from '../../helpers/settings.js';

const picture = (n: number): SourceImage & { url: string } => ({
  kind: 'link',
  url: `https://cdn.example.com/${n}.png`,
});

/** A conversation's turns: each question with its pictures, then its answer. */
function conversation(model: string, pictures: number[][]): ConversationTurn[] {
  return pictures.flatMap((ns, i): ConversationTurn[] => [
    { role: 'user', content: `question ${i}`, userId: 'U1', model, images: ns.map(picture) },
    { role: 'assistant', content: `answer ${i}` },
  ]);
}

/** Only `conversationTurns` is read by a follow-up. */
function stateWith(turns: ConversationTurn[]): GatewayState {
  return { conversationTurns: async () => turns } as unknown as GatewayState;
}

const asked = (images: SourceImage[]) => ({
  conversationKey: 'k',
  threadId: 't',
  question: 'and now?',
  images,
});

describe('a follow-up about pictures', () => {
  it('carries the newest earlier pictures that fit beside its own, the oldest left out, and says so', async () => {
    const turns = conversation('eyes', [[1, 2], [3], [4]]);
    const planned = await followUp(asked([picture(9)]), 'U1', {
      state: stateWith(turns),
      settings: visionSettings(),
      contextTokens: 3000,
    });
    const request = planned.command.kind === 'ask' ? planned.command.request : undefined;
    expect(request?.images).toEqual([picture(2), picture(3), picture(4), picture(9)]);
    expect(request?.earlierImages).toBe(3);
    expect(planned.followUp.note).toMatch(/\. 1 older picture was left out\.$/);
    const messages = planned.plan.body.messages as Array<{ role: string; content: unknown }>;
    expect(messages[0]!.content).toEqual([
      { type: 'text', text: 'question 0' },
      { type: 'image_url', image_url: { url: picture(2).url } },
    ]);
    expect(messages.at(-1)!.content).toEqual([
      { type: 'text', text: 'and now?' },
      { type: 'image_url', image_url: { url: picture(9).url } },
    ]);
  });

  it('sends no earlier pictures when the conversation’s model does not read them', async () => {
    const planned = await followUp(asked([]), 'U1', {
      state: stateWith(conversation('default', [[1]])),
      settings: visionSettings(),
      contextTokens: 3000,
    });
    const request = planned.command.kind === 'ask' ? planned.command.request : undefined;
    expect(request?.images).toBeUndefined();
    expect((planned.plan.body.messages as Array<{ content: unknown }>)[1]!.content).toBe('question 0');
  });
});
