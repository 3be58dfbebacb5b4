import type { WebClient } from '@slack/web-api';
import type { SlackOrigin } from '../../core/intake.js';
import type { JobStatus, JobView, SlackTarget } from '../../core/jobs.js';

/** Slack shows a thread's title in the assistant's history; a long request is cut to this many characters. */
const TITLE_LIMIT = 80;

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

/** The thread's title: the question, or what the image shows. */
export function threadTitle(view: Pick<JobView, 'kind' | 'command'>): string {
  const text = view.command.replace(/^\/(?:ask|flux)\s+/, '');
  const title = view.kind === 'flux' ? `Image: ${text}` : text;
  const chars = [...title];
  return chars.length <= TITLE_LIMIT ? title : `${chars.slice(0, TITLE_LIMIT - 1).join('')}…`;
}

/**
 * An assistant thread once a job's status message is in it, whoever posted it (the gateway, or a worker's recovery
 * of a stopped gateway's request, which may find the gateway's): a new request names the thread, and the loading
 * status shows the job's. Both are cosmetic: the job goes ahead if Slack refuses them. Nothing outside an
 * assistant thread.
 * @see https://docs.slack.dev/reference/methods/assistant.threads.setTitle
 */
export async function statusInAssistantThread(
  client: WebClient,
  origin: SlackOrigin,
  job: { view: JobView; status: JobStatus },
): Promise<void> {
  if (!origin.assistant || !origin.threadTs) return;
  const thread = { channelId: origin.channelId, parentTs: origin.threadTs };
  if (origin.namesThread) {
    await client.assistant.threads
      .setTitle({ channel_id: thread.channelId, thread_ts: thread.parentTs, title: threadTitle(job.view) })
      .catch(() => undefined);
  }
  // Set after the status message is posted: Slack clears the loading status when lorabot posts in the thread.
  await setAssistantStatus(client, thread, assistantStatusText(job.view, job.status));
}
