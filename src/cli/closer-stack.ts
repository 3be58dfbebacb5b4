import type { Logger } from '../core/ports.js';

/** Closes one long-lived thing: a Redis connection, a queue, a worker, a server, a platform client. */
export type Closer = () => Promise<void>;

/**
 * The one stack of closers a lorabot process starts things onto. `close()` closes them in reverse start order,
 * once: a later call, or one made while closing, waits for the same run. A closer that fails is logged and the
 * rest still close, so one stuck client cannot keep Redis connections or a port open.
 */
export class CloserStack {
  readonly #closers: Closer[] = [];
  #closing: Promise<void> | undefined;

  constructor(private readonly logger: Logger) {}

  /** Registers what was just started. Anything started after `close()` began is closed at once, so it cannot leak. */
  push(closer: Closer): void {
    if (this.#closing) {
      void this.#run(closer);
      return;
    }
    this.#closers.push(closer);
  }

  /** Closes everything in reverse start order; idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#closeAll();
    return this.#closing;
  }

  async #closeAll(): Promise<void> {
    while (this.#closers.length > 0) await this.#run(this.#closers.pop()!);
  }

  async #run(closer: Closer): Promise<void> {
    try {
      await closer();
    } catch (error) {
      this.logger.warn({ err: String(error) }, 'error while closing');
    }
  }
}
