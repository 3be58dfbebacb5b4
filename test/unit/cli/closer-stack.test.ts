import { describe, expect, it } from 'vitest';
import { CloserStack } from '../../../src/cli/closer-stack.js';
import type { Logger } from '../../../src/core/ports.js';

function recordingLogger(): Logger & { warnings: Array<{ obj: Record<string, unknown>; msg?: string }> } {
  const warnings: Array<{ obj: Record<string, unknown>; msg?: string }> = [];
  const ignore = () => {};
  return {
    warnings,
    debug: ignore,
    info: ignore,
    error: ignore,
    warn: (obj, msg) => warnings.push({ obj, msg }),
  };
}

describe('CloserStack', () => {
  it('closes in reverse start order', async () => {
    const closed: string[] = [];
    const stack = new CloserStack(recordingLogger());
    for (const name of ['redis', 'worker', 'server']) stack.push(async () => void closed.push(name));
    await stack.close();
    expect(closed).toEqual(['server', 'worker', 'redis']);
  });

  it('closes each thing once, however often and however concurrently close() is called', async () => {
    let calls = 0;
    let release!: () => void;
    const stack = new CloserStack(recordingLogger());
    stack.push(async () => {
      calls += 1;
      await new Promise<void>((resolve) => {
        release = resolve;
      });
    });
    const first = stack.close();
    const second = stack.close();
    expect(second).toBe(first);
    release();
    await Promise.all([first, second]);
    await stack.close();
    expect(calls).toBe(1);
  });

  it('logs a closer that fails or throws and still closes the rest', async () => {
    const closed: string[] = [];
    const logger = recordingLogger();
    const stack = new CloserStack(logger);
    stack.push(async () => void closed.push('redis'));
    stack.push(() => {
      throw new Error('socket already gone');
    });
    stack.push(async () => {
      throw new Error('server would not stop');
    });
    await expect(stack.close()).resolves.toBeUndefined();
    expect(closed).toEqual(['redis']);
    expect(logger.warnings.map((w) => w.obj.err)).toEqual([
      'Error: server would not stop',
      'Error: socket already gone',
    ]);
  });

  it('closes at once what is pushed after close() began, so nothing outlives the handle', async () => {
    const closed: string[] = [];
    const stack = new CloserStack(recordingLogger());
    await stack.close();
    stack.push(async () => void closed.push('late client'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toEqual(['late client']);
  });
});
