import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TogetherFault } from '../contract/fakes/fake-together.js';
import { type Harness, startHarness, waitForFailure } from '../helpers/lorabot-harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h.close();
});

interface Case {
  name: string;
  fault: TogetherFault;
  /** How many requests carry the fault (enough for every attempt when it persists). */
  times: number;
  /** Together calls in all: client retries (max_retries 1 in tests) × job attempts (3). */
  calls: number;
  message: RegExp;
  /** Ledger charge: 0, or the estimate when Together answered 200 (so did, and billed, the work) but it was lost. */
  charged: number;
}

const ESTIMATE = 35_000; // 256×256 at $0.035 per (rounded-up) megapixel
const cases: Case[] = [
  {
    name: '429 with retry-after',
    fault: { kind: 'status', status: 429, headers: { 'retry-after': '0' } },
    times: 6,
    calls: 6,
    message: /rate-limiting/,
    charged: 0,
  },
  {
    name: '429 without retry hints',
    fault: { kind: 'status', status: 429 },
    times: 6,
    calls: 6,
    message: /rate-limiting/,
    charged: 0,
  },
  {
    name: '500',
    fault: { kind: 'status', status: 500 },
    times: 3,
    calls: 3,
    message: /server error \(HTTP 500\)/,
    charged: 0,
  },
  {
    name: '502',
    fault: { kind: 'status', status: 502 },
    times: 3,
    calls: 3,
    message: /server error \(HTTP 502\)/,
    charged: 0,
  },
  {
    name: '503',
    fault: { kind: 'status', status: 503 },
    times: 6,
    calls: 6,
    message: /overloaded \(HTTP 503\)/,
    charged: 0,
  },
  {
    name: '504 (the work may be running: not retried)',
    fault: { kind: 'status', status: 504 },
    times: 1,
    calls: 1,
    message: /timed out \(HTTP 504\)/,
    charged: 0,
  },
  {
    name: 'connection dropped after the body was sent',
    fault: { kind: 'drop-after-request-body' },
    times: 1,
    calls: 1,
    message: /may have been billed/,
    charged: 0,
  },
  {
    name: 'connection dropped while the images arrived',
    fault: { kind: 'drop-mid-response' },
    times: 1,
    calls: 1,
    message: /probably billed/,
    charged: ESTIMATE,
  },
  {
    name: 'malformed JSON in a 200',
    fault: { kind: 'malformed-json' },
    times: 1,
    calls: 1,
    message: /could not read/,
    charged: ESTIMATE,
  },
  {
    name: '401',
    fault: { kind: 'status', status: 401 },
    times: 1,
    calls: 1,
    message: /TOGETHER_API_KEY/,
    charged: 0,
  },
  {
    name: '402',
    fault: { kind: 'status', status: 402 },
    times: 1,
    calls: 1,
    message: /out of credits/,
    charged: 0,
  },
  { name: '403', fault: { kind: 'status', status: 403 }, times: 1, calls: 1, message: /refused/, charged: 0 },
  {
    name: '404',
    fault: { kind: 'status', status: 404 },
    times: 1,
    calls: 1,
    message: /is no longer served by Together.*An admin can set image\.model/,
    charged: 0,
  },
];

describe('Together faults, end to end through the queue', () => {
  cases.forEach((c, i) => {
    it(`${c.name}: ${c.calls} call(s), one clear failure, charge ${c.charged}`, async () => {
      const channel = `C0PROV${i}`;
      const prompt = `provider fault ${i}`;
      h.together.inject('/images/generations', c.fault, c.times);
      await h.slash({ channel_id: channel, command: '/flux', text: `${prompt} --size 256x256` });
      const { parent, notice } = await waitForFailure(h, channel, '/flux');
      expect(notice.text).toMatch(c.message);
      await new Promise((r) => setTimeout(r, 150));
      expect(h.slack.thread(channel, parent.ts).filter((m) => m.text.startsWith('<@U0PANDA>'))).toHaveLength(
        1,
      );
      expect(
        h.together.calls.filter((call) => JSON.stringify(call.body ?? '').includes(prompt)),
      ).toHaveLength(c.calls);
      const month = new Date().toISOString().slice(0, 7);
      const ledger = h.running.workers!.ledgerView;
      expect(await ledger.total('channel', `slack:${h.slack.teamId}:${channel}`, 'month', month)).toBe(
        c.charged,
      );
    }, 30_000);
  });
});
