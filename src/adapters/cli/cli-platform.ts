import type { ChatPlatform, ConfirmationEnd, PostedStatus } from '../../app/chat-platform.js';
import type { CliTarget, DeliveryTarget, JobStatus, JobView, ListedJob } from '../../core/jobs.js';

/** A job's status as one line on the terminal. */
export function describeStatus(status: JobStatus): string {
  switch (status.state) {
    case 'queued':
      return `Queued (position ${status.position})`;
    case 'running':
      return 'Running…';
    case 'done':
      return `Done. ${status.costText}`;
    case 'failed':
      return `Failed: ${status.reason}`;
    case 'cancelled':
      return 'Cancelled.';
  }
}

/**
 * The inbound port for `lorabot run`: the operator at a terminal. What the service tells is kept for the command
 * to print where it belongs (an answer on stdout, a refusal on stderr, with the exit code the outcome calls for);
 * statuses are printed as they come. The operator is never asked to confirm: `lorabot run` is a deliberate act
 * (its service runs with no confirmation threshold), so a question here is only kept like any other answer.
 */
export class CliPlatform implements ChatPlatform {
  /** Everything the service told, in order. */
  readonly told: string[] = [];
  /** The job's id once its status is posted (it was accepted and is being queued). */
  jobId: string | undefined;

  constructor(
    private readonly userId: string,
    private readonly onStatus: (line: string) => void,
  ) {}

  async ack(): Promise<void> {
    // A terminal has no deadline.
  }

  async tell(text: string): Promise<void> {
    this.told.push(text);
  }

  async askToConfirm(question: string, command: string): Promise<void> {
    this.told.push(`${question}\n${command}`);
  }

  async closeConfirmation(_end: ConfirmationEnd, text: string): Promise<void> {
    this.told.push(text);
  }

  async postStatus(view: JobView, status: JobStatus): Promise<PostedStatus> {
    this.jobId = view.jobId;
    this.onStatus(describeStatus(status));
    const target: CliTarget = { platform: 'cli', userId: this.userId };
    return { target, conversationKey: `cli:${view.jobId}`, aliases: [] };
  }

  async updateStatus(_target: DeliveryTarget, _view: JobView, status: JobStatus): Promise<void> {
    this.onStatus(describeStatus(status));
  }

  async showJobs(_jobs: readonly ListedJob[], lines: readonly string[]): Promise<void> {
    this.told.push(lines.join('\n'));
  }
}
