import { createHash } from 'node:crypto';
import { moveToFinished } from 'bullmq/dist/esm/scripts/index.js';
import { describe, expect, it } from 'vitest';
import { summarizeProfile } from '../../../bench/cpu-profile.js';
import { breakdown, keyFamily } from '../../../bench/redis-breakdown.js';

const P = '{lorabot-bench-1}';

describe("the bench's Redis breakdown", () => {
  it('names BullMQ scripts by their SHA1, counts what runs inside them, and groups by command and key family', () => {
    const sha = createHash('sha1').update(moveToFinished.content).digest('hex');
    const worker = '127.0.0.1:5001';
    const gateway = '127.0.0.1:5002';
    const seen = [
      // Two jobs: each a journal write (one of lorabot's scripts, by SHA1) and a BullMQ completion running two
      // commands inside.
      ...[1, 2].flatMap((job) => [
        { args: ['evalsha', 'f'.repeat(40), '1', `${P}:steps:${job}`, 'posted', '1'], source: worker },
        { args: ['hset', `${P}:steps:${job}`, 'posted', '1'], source: 'lua' },
        { args: ['evalsha', sha, '14', `${P}:image:wait`, `${P}:image:active`], source: worker },
        { args: ['lrem', `${P}:image:active`, '-1', String(job)], source: 'lua' },
        { args: ['zadd', `${P}:image:completed`, '1', String(job)], source: 'lua' },
      ]),
      { args: ['set', `${P}:claim:T1`, '1', 'NX'], source: gateway },
      { args: ['ping'], source: gateway },
    ];
    const names = new Map([
      [worker, 'lorabot:worker'],
      [gateway, 'lorabot:gateway'],
    ]);
    const b = breakdown(seen, { prefix: P, jobs: 2, seconds: 1, names });
    expect(b.sentPerJob).toBe(3);
    expect(b.inScriptsPerJob).toBe(3);
    expect(b.calls).toEqual([
      { name: 'EVALSHA moveToFinished', who: 'lorabot:worker', perJob: 1, insidePerJob: 2 },
      { name: 'EVALSHA (a script on journal)', who: 'lorabot:worker', perJob: 1, insidePerJob: 1 },
      { name: 'SET dedupe (request claims)', who: 'lorabot:gateway', perJob: 0.5, insidePerJob: 0 },
      { name: 'PING (no key)', who: 'lorabot:gateway', perJob: 0.5, insidePerJob: 0 },
    ]);
    expect(b.byCommand).toContainEqual({ name: 'LREM', perJob: 1 });
    expect(b.byFamily).toEqual([
      { name: 'queue (BullMQ)', perJob: 3 },
      { name: 'journal', perJob: 2 },
      { name: 'dedupe (request claims)', perJob: 0.5 },
      { name: '(no key)', perJob: 0.5 },
    ]);
  });

  it('puts each key in its family', () => {
    expect(keyFamily(`${P}:ledger:user:slack:T1:U1:day:2026-12-01`, P)).toBe('ledger');
    expect(keyFamily(`${P}:reserve:total:user:x`, P)).toBe('budget');
    expect(keyFamily(`${P}:checkpoint:12`, P)).toBe('journal');
    expect(keyFamily(`${P}:pending:9`, P)).toBe('pending');
  });
});

describe("the bench's CPU profile summary", () => {
  const frame = (functionName: string, url: string, lineNumber = 0) => ({ functionName, url, lineNumber });
  const profile = {
    nodes: [
      { id: 1, callFrame: frame('(root)', '') },
      { id: 2, callFrame: frame('(idle)', '') },
      { id: 3, callFrame: frame('processJob', 'file:///app/dist/queue/image-job.js', 41) },
      { id: 4, callFrame: frame('parse', 'file:///app/node_modules/ioredis/built/Parser.js', 9) },
      { id: 5, callFrame: frame('(garbage collector)', '') },
    ],
    startTime: 1_000_000,
    // A sample every 1 ms from 1,001,000 µs: the first two before the window, the rest in it.
    samples: [3, 3, 3, 3, 4, 2, 5, 3],
    timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000],
  };

  it('counts self time by function and by package, inside the window only, idle apart', () => {
    const s = summarizeProfile(profile, { fromUs: 1_002_500, toUs: 1_010_000 });
    expect(s.windowed).toBe(true);
    // In the window: processJob ×2, parse, idle, GC; the last sample stands for no time (nothing follows it).
    expect(s.busyMs).toBe(4);
    expect(s.idleMs).toBe(1);
    expect(s.top[0]).toEqual({ name: 'processJob', where: 'dist/queue/image-job.js:42', ms: 2, percent: 50 });
    expect(s.top.map((f) => f.name)).toEqual(['processJob', 'parse', '(garbage collector)']);
    expect(s.byPackage).toEqual([
      { name: 'lorabot', ms: 2, percent: 50 },
      { name: 'ioredis', ms: 1, percent: 25 },
      { name: 'V8 (garbage collector)', ms: 1, percent: 25 },
    ]);
  });

  it('falls back to the whole profile, and says so, when no sample falls in the window', () => {
    const s = summarizeProfile(profile, { fromUs: 0, toUs: 10 });
    expect(s.windowed).toBe(false);
    expect(s.busyMs).toBe(6);
  });
});
