/**
 * The soak's bookkeeping: what became of every command it sent (from what the fake Slack shows people), what was
 * shown twice, and what the ledger charged beside what the fake Together served.
 */
import { statusLine } from '../src/adapters/slack/slack-format.js';
import { priceChat, priceImage, sumMicros } from '../src/core/pricing.js';
import type { MegapixelPricing, TokenPricing } from '../src/core/settings.js';
import type { LedgerEntry } from '../src/queue/ledger.js';
import type { FakeSlack, SlackMessage } from '../test/contract/fakes/fake-slack.js';
import type { FakeTogether, ImageBody } from '../test/contract/fakes/fake-together.js';
import type { Ack } from './load.js';

/** The prices the soak's config sets, the same numbers the served calls are priced with. */
export const SOAK_PRICES = {
  usdPerMegapixel: 0.035,
  chatUsdPerMTokens: 0.18,
  image: {
    kind: 'per-megapixel',
    microsPerMegapixel: 35_000,
    megapixelPixels: 1_000_000,
    rounding: 'up',
    stepScaling: null,
  } satisfies MegapixelPricing,
  chat: {
    kind: 'per-token',
    inputMicrosPerMTokens: 180_000,
    outputMicrosPerMTokens: 180_000,
  } satisfies TokenPricing,
};

/** One command the soak sent: its tag in the text finds it again in Slack. */
export interface SentCommand {
  i: number;
  kind: 'flux' | 'ask';
  user: string;
  channel: string;
  /** The id of its `response_url` at the fake Slack. */
  responseId: string;
  ack?: Ack;
}

export type Outcome = 'done' | 'failed' | 'refused' | 'not-accepted' | 'pending';

/** The tag each command carries in its text (`soak-123`), read back from the messages that show it. */
export const tagOf = (i: number) => `soak-${i}`;
const TAG = /\bsoak-(\d+)\b/;

// The status line's start on the parent message once the job has ended (slack-format.ts).
const DONE = statusLine({ state: 'done', costText: '' }).replace(/[\s·:]+$/, '');
const FAILED = statusLine({ state: 'failed', reason: '' }).replace(/[\s·:]+$/, '');
const NOTICE = /Your (image|answer) is ready|Your \/(flux|ask) request failed/;

export interface Audit {
  outcomes: Record<Outcome, number>;
  /** What the people whose commands were refused were told, and how many times. */
  refusedReasons: Record<string, number>;
  /** Accepted commands that have not ended visibly (still queued or running, or never shown at all). */
  unfinished: Array<{ tag: string; last: string }>;
  duplicates: { statusMessages: number; deliveries: number; notices: number; examples: string[] };
}

/** What became of each command: ended (done or failed on its status message), refused privately, or not yet. */
export function audit(commands: readonly SentCommand[], slack: FakeSlack): Audit {
  const parents = new Map<number, SlackMessage[]>();
  const threads = new Map<string, SlackMessage[]>();
  for (const message of slack.messages) {
    if (message.thread_ts !== undefined) {
      const key = `${message.channel} ${message.thread_ts}`;
      threads.set(key, [...(threads.get(key) ?? []), message]);
      continue;
    }
    const tag = TAG.exec(message.text)?.[1];
    if (tag !== undefined) parents.set(Number(tag), [...(parents.get(Number(tag)) ?? []), message]);
  }
  const files = new Map<string, number>();
  for (const file of slack.files) {
    const key = `${file.channel} ${file.thread_ts}`;
    files.set(key, (files.get(key) ?? 0) + 1);
  }
  const answered = new Map(slack.responses.map((r) => [r.id, String(r.body.text ?? '')]));
  const result: Audit = {
    outcomes: { done: 0, failed: 0, refused: 0, 'not-accepted': 0, pending: 0 },
    refusedReasons: {},
    unfinished: [],
    duplicates: { statusMessages: 0, deliveries: 0, notices: 0, examples: [] },
  };
  const duplicate = (what: keyof Omit<Audit['duplicates'], 'examples'>, command: SentCommand) => {
    result.duplicates[what]++;
    if (result.duplicates.examples.length < 5)
      result.duplicates.examples.push(`${what} of ${tagOf(command.i)}`);
  };
  for (const command of commands) {
    const shown = parents.get(command.i) ?? [];
    const outcome = outcomeOf(command, shown[0], answered);
    result.outcomes[outcome]++;
    if (outcome === 'refused') {
      const told = (answered.get(command.responseId) ?? command.ack?.body ?? '').slice(0, 80);
      result.refusedReasons[told] = (result.refusedReasons[told] ?? 0) + 1;
    }
    if (outcome === 'pending')
      result.unfinished.push({
        tag: tagOf(command.i),
        last: shown[0]?.text.split(' · ').at(-1) ?? 'never shown',
      });
    if (shown.length > 1) duplicate('statusMessages', command);
    for (const parent of shown.slice(0, 1)) {
      const key = `${parent.channel} ${parent.ts}`;
      const thread = threads.get(key) ?? [];
      const notices = thread.filter((m) => NOTICE.test(m.text)).length;
      // n = 1: one image in a /flux thread, one answer message in an /ask thread.
      const deliveries = command.kind === 'flux' ? (files.get(key) ?? 0) : thread.length - notices;
      if (notices > 1) duplicate('notices', command);
      if (deliveries > 1) duplicate('deliveries', command);
    }
  }
  return result;
}

function outcomeOf(
  command: SentCommand,
  parent: SlackMessage | undefined,
  answered: Map<string, string>,
): Outcome {
  if (!command.ack) return 'pending';
  if (command.ack.status >= 300) return 'not-accepted';
  if (parent) {
    if (parent.text.includes(DONE)) return 'done';
    if (parent.text.includes(FAILED)) return 'failed';
    return 'pending';
  }
  // Not queued: told privately, on the ack itself or by the command's response_url.
  const ackText = command.ack.body.trim() !== '' && command.ack.body.includes('"text"');
  return ackText || answered.has(command.responseId) ? 'refused' : 'pending';
}

/**
 * The ledger beside what the fake Together served, priced the way the soak's config prices it, for each kind:
 * images are priced exactly, so their ledger must equal what was served; an answer lost with a killed worker is
 * charged its upper bound (nobody saw its length) and marked estimated, so answers may differ only by what those
 * estimated entries over-state.
 */
export function ledgerAgainstServed(entries: readonly LedgerEntry[], together: FakeTogether) {
  let images = 0;
  let answers = 0;
  const servedMicros = { flux: [] as number[], ask: [] as number[] };
  for (const call of together.calls) {
    if (!call.served) continue;
    if ('images' in call.served) {
      images += call.served.images;
      const body = call.body as ImageBody;
      const size = { width: body.width ?? 0, height: body.height ?? 0, steps: body.steps ?? 0 };
      servedMicros.flux.push(
        priceImage({ ...size, n: call.served.images }, SOAK_PRICES.image, body.model).micros,
      );
      continue;
    }
    answers++;
    const rates = { kind: 'per-token', rates: SOAK_PRICES.chat, listed: false } as const;
    servedMicros.ask.push(priceChat(call.served, rates).micros);
  }
  const usd = (micros: readonly number[]) => sumMicros(micros) / 1e6;
  const ofKind = (kind: LedgerEntry['kind']) => entries.filter((e) => e.kind === kind);
  const byStatus: Record<string, number> = {};
  for (const entry of entries) byStatus[entry.status] = (byStatus[entry.status] ?? 0) + 1;
  const estimatedAsk = ofKind('ask').filter((e) => e.estimated);
  return {
    ledgerUsd: usd(entries.map((e) => e.micros)),
    servedUsd: usd([...servedMicros.flux, ...servedMicros.ask]),
    imagesLedgerUsd: usd(ofKind('flux').map((e) => e.micros)),
    imagesServedUsd: usd(servedMicros.flux),
    answersLedgerUsd: usd(ofKind('ask').map((e) => e.micros)),
    answersServedUsd: usd(servedMicros.ask),
    /** What the answers' estimated entries (lost calls at their upper bound, cut streams) come to. */
    answersEstimatedUsd: usd(estimatedAsk.map((e) => e.micros)),
    answersEstimatedEntries: estimatedAsk.length,
    ledgerEntries: entries.length,
    ledgerEntriesByStatus: byStatus,
    servedImages: images,
    servedAnswers: answers,
    togetherCalls: together.calls.filter((c) => c.path !== '/models').length,
  };
}
