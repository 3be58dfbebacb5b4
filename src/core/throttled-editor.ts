/**
 * Shows a growing text by editing one message, never sooner than `intervalMs` after the previous edit finished,
 * so a platform's per-message edit limit holds however fast the text grows. Only the latest text is shown: texts
 * offered while an edit is in flight or waiting for its turn replace each other.
 */
export class ThrottledEditor {
  private latest: string | undefined;
  private shown: string | undefined;
  /** Starts as the time of creation: the message was just posted, which counts as its first change. */
  private lastDoneAt: number;
  private inFlight: Promise<void> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(
    private readonly edit: (text: string) => Promise<void>,
    private readonly intervalMs: number,
    private readonly onError: (error: unknown) => void = () => {},
    private readonly now: () => number = () => performance.now(),
  ) {
    this.lastDoneAt = now();
  }

  offer(text: string): void {
    if (this.stopped) return;
    this.latest = text;
    this.schedule();
  }

  /**
   * Stops editing: waits for an edit in flight, drops texts not yet shown, then waits out the interval, so the
   * caller's own final edit also keeps to the limit.
   */
  async settle(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight;
    const wait = this.lastDoneAt + this.intervalMs - this.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }

  private schedule(): void {
    if (this.inFlight || this.timer || this.stopped) return;
    const wait = Math.max(0, this.lastDoneAt + this.intervalMs - this.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.run();
    }, wait);
  }

  private run(): void {
    const text = this.latest;
    if (this.stopped || text === undefined || text === this.shown) return;
    this.shown = text;
    this.inFlight = this.edit(text)
      .catch(this.onError)
      .finally(() => {
        this.lastDoneAt = this.now();
        this.inFlight = undefined;
        if (this.latest !== this.shown) this.schedule();
      });
  }
}
