import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { smoothStartLimit } from '../../../src/core/rate-limit.js';

/**
 * Starts under a BullMQ-style limiter with a full backlog: each window opens at its first start and takes `max`
 * jobs; the next opens once it has expired. `delays` are the times from each start to its request.
 */
function requestTimes(perMinute: number, count: number, delays: (i: number) => number): number[] {
  const { max, durationMs } = smoothStartLimit(perMinute);
  const times: number[] = [];
  for (let i = 0; i < count; i++) times.push(Math.floor(i / max) * durationMs + delays(i));
  return times.sort((a, b) => a - b);
}

/** The most requests in any 60 s (a half-open window ending at a request). */
function busiestMinute(times: number[]): number {
  let most = 0;
  let first = 0;
  for (let last = 0; last < times.length; last++) {
    while (times[first]! <= times[last]! - 60_000) first++;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

describe('smoothStartLimit', () => {
  it('spreads a minute into one-second shares with a 2 % margin', () => {
    expect(smoothStartLimit(60)).toEqual({ max: 1, durationMs: 1020 });
    expect(smoothStartLimit(10)).toEqual({ max: 1, durationMs: 6120 });
    expect(smoothStartLimit(6000)).toEqual({ max: 100, durationMs: 1020 });
    expect(smoothStartLimit(1)).toEqual({ max: 1, durationMs: 61_200 });
  });

  it('never puts more than the limit in any 60 s, even when requests leave up to a second after their start', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.array(fc.integer({ min: 0, max: 999 }), { minLength: 1, maxLength: 50 }),
        (perMinute, jitter) => {
          const count = Math.min(perMinute * 3, 20_000);
          const times = requestTimes(perMinute, count, (i) => jitter[i % jitter.length]!);
          expect(busiestMinute(times)).toBeLessThanOrEqual(perMinute);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('still reaches at least 95 % of the limit under a full backlog', () => {
    for (const perMinute of [1, 5, 10, 60, 61, 119, 600, 6000, 100_000]) {
      const { max, durationMs } = smoothStartLimit(perMinute);
      expect((max * 60_000) / durationMs).toBeGreaterThanOrEqual(perMinute * 0.95);
    }
  });
});
