import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { guardProcess } from '../../../src/cli/process-guard.js';
import type { Logger } from '../../../src/core/ports.js';

function recordingLogger() {
  const lines: Array<{ level: string; msg: string; fields: Record<string, unknown> }> = [];
  const at =
    (level: string) =>
    (fields: Record<string, unknown>, msg: string): void => {
      lines.push({ level, msg, fields });
    };
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return { logger, lines };
}

/** Resolves true when `promise` resolves before the event loop's next turn. */
async function settledNow(promise: Promise<void>): Promise<boolean> {
  return Promise.race([promise.then(() => true), new Promise<boolean>((r) => setImmediate(() => r(false)))]);
}

describe('guardProcess', () => {
  it('logs an unhandled rejection with where it came from and lets the process carry on', async () => {
    const events = new EventEmitter();
    const { logger, lines } = recordingLogger();
    const guard = guardProcess(events, logger);
    events.emit(
      'unhandledRejection',
      new TypeError("Cannot read properties of undefined (reading 'reduce')"),
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]!.level).toBe('error');
    expect(lines[0]!.msg).toMatch(/unhandled rejection.*carrying on/);
    expect(String(lines[0]!.fields.err)).toMatch(
      /^TypeError: Cannot read properties of undefined[\s\S]*\n\s+at /,
    );
    expect(await settledNow(guard.fatal)).toBe(false);
    guard.dispose();
  });

  it('logs an uncaught exception and asks the process to stop', async () => {
    const events = new EventEmitter();
    const { logger, lines } = recordingLogger();
    const guard = guardProcess(events, logger);
    events.emit('uncaughtException', new RangeError('state broken'));
    expect(lines.map((l) => l.msg)).toEqual(['uncaught exception: stopping (running jobs are handed back)']);
    expect(await settledNow(guard.fatal)).toBe(true);
    guard.dispose();
  });

  it('leaves the process as it found it once disposed', () => {
    const events = new EventEmitter();
    const guard = guardProcess(events, recordingLogger().logger);
    expect(events.listenerCount('unhandledRejection')).toBe(1);
    expect(events.listenerCount('uncaughtException')).toBe(1);
    guard.dispose();
    expect(events.listenerCount('unhandledRejection')).toBe(0);
    expect(events.listenerCount('uncaughtException')).toBe(0);
  });
});
