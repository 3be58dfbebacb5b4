import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../../src/queue/ledger.js';
import { waitFor } from '../helpers/wait.js';
import type { User } from '../platform/driver.js';
import { suiteConfig } from '../platform/platform-suite.js';
import { type SlackDriver, startSlackDriver } from '../platform/slack-driver.js';

let d: SlackDriver;

beforeAll(async () => {
  d = await startSlackDriver(suiteConfig);
});

afterAll(async () => {
  await d?.close();
});

afterEach(() => {
  d.together.reply = YOU_ASKED;
  d.together.chunkDelayMs = 0;
});

const YOU_ASKED = (body: { messages: Array<{ content: unknown }> }) =>
  `You asked: ${body.messages.at(-1)?.content ?? ''}`;

async function chargesOf(user: User): Promise<LedgerEntry[]> {
  const entries = await d.h.running.workers!.ledgerView.entries(new Date().toISOString().slice(0, 7));
  return entries.filter((e) => e.userId === user.id);
}

/** The amount of a cost line in micro-dollars. */
const micros = (usd: string) => Math.round(Number(usd) * 1e6);

describe('a streamed answer cut short is charged for the tokens that arrived (Slack, fake Together)', () => {
  it('Cancel keeps what arrived, shows its estimated cost, and charges exactly that, marked estimated', async () => {
    const user = await d.user('cancelstream');
    d.together.reply = () => Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');
    d.together.chunkDelayMs = 150;
    const request = await d.command('ask', 'write forty words', {
      user,
      channel: d.channel('cancelstream'),
    });
    await waitFor('part of the answer', () => d.answer(request)?.text.includes('word5'), 15_000);
    await d.press(request, 'cancel', { user });
    await waitFor('cancelled', () => d.status(request)?.state === 'cancelled', 15_000);
    const shown = await waitFor('the kept answer', () =>
      /^(word[\d ]+)+\s+\(Cancelled\. Cost: ~\$([\d.]+) \(estimated: (\d+) in \+ (\d+) out tokens, answer cancelled\)\)$/s.exec(
        d.answer(request)?.text ?? '',
      ),
    );
    const arrived = shown[0].slice(0, shown[0].indexOf('\n\n(Cancelled.'));
    expect(arrived).not.toContain('word39');
    // Estimated from the text: about four characters a token.
    expect(Number(shown[4])).toBe(Math.ceil(arrived.length / 4));
    const [charge] = await chargesOf(user);
    expect(await chargesOf(user)).toHaveLength(1);
    expect(charge).toMatchObject({
      status: 'billed-failed',
      estimated: true,
      note: 'answer cancelled',
      micros: micros(shown[2]!),
    });
    expect(charge!.micros).toBeGreaterThan(0);
    expect(await d.spentToday(user)).toBe(charge!.micros);
  });

  it('a stream that breaks off is charged from an estimate when Together sent no usage, marked estimated', async () => {
    const user = await d.user('brokestream');
    d.together.reply = () => 'one two three four five six seven eight';
    d.together.inject('/chat/completions', { kind: 'stream-drop', afterChunks: 4 });
    const request = await d.command('ask', 'count for me', { user, channel: d.channel('brokestream') });
    await waitFor('failed', () => d.status(request)?.state === 'failed', 15_000);
    const shown =
      /What arrived is above\. Cost: ~\$([\d.]+) \(estimated: (\d+) in \+ (\d+) out tokens, the answer stopped partway\)\)$/.exec(
        d.answer(request)!.text,
      );
    expect(shown, d.answer(request)!.text).not.toBeNull();
    // "one two three four " arrived: 19 characters, 5 tokens by the estimate.
    expect(shown![3]).toBe('5');
    const charges = await chargesOf(user);
    expect(charges).toEqual([
      expect.objectContaining({
        status: 'billed-failed',
        estimated: true,
        note: 'the answer stopped partway',
        micros: micros(shown![1]!),
      }),
    ]);
  });

  it('a stream that breaks off after Together sent its usage is charged from those counts, not estimated', async () => {
    const user = await d.user('usagestream');
    d.together.reply = () => 'one two three';
    // Three words, then the finish chunk with usage; the connection drops before [DONE].
    d.together.inject('/chat/completions', { kind: 'stream-drop', afterChunks: 4 });
    const request = await d.command('ask', 'count to three', { user, channel: d.channel('usagestream') });
    await waitFor('failed', () => d.status(request)?.state === 'failed', 15_000);
    // The fake counts words: 13 of system prompt + 3 of question in, 3 out; at $0.18/M each, ceil(19 × 0.18) µ$.
    expect(d.answer(request)!.text).toMatch(
      /What arrived is above\. Cost: \$0\.000004 \(16 in \+ 3 out tokens, the answer stopped partway\)\)$/,
    );
    const charges = await chargesOf(user);
    expect(charges).toHaveLength(1);
    expect(charges[0]).toMatchObject({
      status: 'billed-failed',
      micros: 4,
      note: 'the answer stopped partway',
    });
    expect(charges[0]!.estimated).toBeUndefined();
  });
});
