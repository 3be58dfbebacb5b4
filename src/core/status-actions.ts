import type { JobStatus, JobView } from './jobs.js';

/** A button on a job's status message, before a platform renders it. */
export interface StatusAction {
  action: 'cancel' | 'regenerate' | 'vary' | 'edit' | 'details';
  label: string;
  style?: 'danger';
}

/**
 * The buttons a job's status message offers, the same on every platform: Cancel while it waits or runs;
 * Regenerate, Vary (its first image as the reference, a new seed), Edit (a new prompt on its first image) and
 * Details on a finished image; Details on a finished answer (its model and question).
 */
export function statusActions(view: JobView, status: JobStatus): StatusAction[] {
  if (status.state === 'queued' || status.state === 'running')
    return [{ action: 'cancel', label: 'Cancel', style: 'danger' }];
  if (status.state !== 'done') return [];
  const details: StatusAction = { action: 'details', label: 'Details' };
  if (view.kind !== 'flux') return [details];
  return [
    { action: 'regenerate', label: 'Regenerate' },
    { action: 'vary', label: 'Vary' },
    { action: 'edit', label: 'Edit' },
    details,
  ];
}

/** The status line's words for each state; each platform puts its own icon before them and escapes the text. */
export function statusWords(
  status: JobStatus,
  render: { escape: (text: string) => string; mention: (userId: string) => string },
): string {
  switch (status.state) {
    case 'queued':
      return `Queued${status.position > 1 ? ` (position ${status.position})` : ''}`;
    case 'running':
      return 'Running…';
    case 'done':
      return `Done · ${render.escape(status.costText)}`;
    case 'failed':
      return `Failed: ${render.escape(status.reason)}`;
    case 'cancelled':
      return `Cancelled by ${render.mention(status.by)}`;
  }
}
