import { describe, expect, it } from 'vitest';
import { RecentKeys } from '../../../src/adapters/discord/recent-keys.js';

describe('refusals a Discord worker remembers for a while', () => {
  it('holds a key until its time is over, and again once it is remembered anew', () => {
    let now = 1_000;
    const keys = new RecentKeys(60_000, () => now);
    expect(keys.has('channel-1')).toBe(false);
    keys.remember('channel-1');
    now += 59_999;
    expect(keys.has('channel-1')).toBe(true);
    expect(keys.has('channel-2')).toBe(false);
    now += 1;
    expect(keys.has('channel-1')).toBe(false);
    keys.remember('channel-1');
    expect(keys.has('channel-1')).toBe(true);
  });

  it('forgets the oldest key past its limit; a key remembered again counts as new', () => {
    const keys = new RecentKeys(60_000, () => 0, 2);
    keys.remember('a');
    keys.remember('b');
    keys.remember('a');
    keys.remember('c');
    expect([keys.has('a'), keys.has('b'), keys.has('c')]).toEqual([true, false, true]);
  });
});
