import type { Logger } from '../core/ports.js';

/** The process events a long-running command listens to (Node's `process`). */
export interface ProcessEvents {
  on(event: 'unhandledRejection' | 'uncaughtException', listener: (error: unknown) => void): unknown;
  off(event: 'unhandledRejection' | 'uncaughtException', listener: (error: unknown) => void): unknown;
}

/**
 * The last-resort handlers of `lorabot start|gateway|worker`, for a failure no adapter caught.
 *
 * - An unhandled rejection is a promise that failed with nobody waiting for it: the one piece of work it stood
 *   for is lost, but the stack unwound and the process's state is whole, so it is logged and the process carries
 *   on (Node's default would exit 1 and take every platform and the worker down with it).
 * - An uncaught exception may have stopped any code halfway through a change, and Node documents that resuming
 *   after one is unsafe: it is logged and `fatal` resolves, so the process stops as on SIGTERM (running jobs get
 *   their grace period, then go back to the queue) and exits 1 for its supervisor to restart it.
 * @see https://nodejs.org/api/process.html#warning-using-uncaughtexception-correctly
 */
export function guardProcess(
  events: ProcessEvents,
  logger: Logger,
): { fatal: Promise<void>; dispose(): void } {
  let fail: () => void = () => undefined;
  const fatal = new Promise<void>((resolve) => {
    fail = resolve;
  });
  const onRejection = (reason: unknown) => {
    logger.error(
      { err: describe(reason) },
      'unhandled rejection: that piece of work was dropped; carrying on',
    );
  };
  const onException = (error: unknown) => {
    logger.error({ err: describe(error) }, 'uncaught exception: stopping (running jobs are handed back)');
    fail();
  };
  events.on('unhandledRejection', onRejection);
  events.on('uncaughtException', onException);
  return {
    fatal,
    dispose() {
      events.off('unhandledRejection', onRejection);
      events.off('uncaughtException', onException);
    },
  };
}

/** An error's message and the first frames of its stack (where it came from); never its own properties. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return (error.stack ?? `${error.name}: ${error.message}`).split('\n').slice(0, 6).join('\n');
}
