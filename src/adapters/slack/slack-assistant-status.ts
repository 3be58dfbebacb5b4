import type { WebClient } from '@slack/web-api';
import type { JobStatus, JobView, SlackTarget } from '../../core/jobs.js';

/**
 * The loading status of an assistant thread (Slack shows it under the thread as "lorabot <status>") for a job's
 * status: where it waits in the queue, then what it is making; empty once it has ended, which clears it.
 */
export function assistantStatusText(view: JobView, status: JobStatus): string {
  if (status.state === 'queued') return `in queue, position ${Math.max(1, status.position)}`;
  if (status.state !== 'running') return '';
  if (view.kind === 'ask') return 'writing…';
  const n = view.images ?? 1;
  return n === 1 ? 'generating an image…' : `generating ${n} images…`;
}

/**
 * Sets the thread's loading status. It only decorates the status message, which stays the record of the job, so
 * a refusal is ignored (Slack also clears the status by itself when lorabot posts in the thread, or after two
 * minutes).
 * @see https://docs.slack.dev/reference/methods/assistant.threads.setStatus
 */
export async function setAssistantStatus(
  client: WebClient,
  target: Pick<SlackTarget, 'channelId' | 'parentTs'>,
  status: string,
): Promise<void> {
  await client.assistant.threads
    .setStatus({ channel_id: target.channelId, thread_ts: target.parentTs, status })
    .catch(() => undefined);
}
