import type { JobData, ListedJob } from './jobs.js';
import type { SourceImage } from './requests.js';

/** The Details view of an image: everything needed to make it again. */
export function recipeText(jobId: string, data: JobData, model: string): string {
  if (data.kind !== 'flux') {
    return [`Job ${jobId}`, `Model: ${model}`, `Question: ${data.request.question}`].join('\n');
  }
  const r = data.request;
  const loras =
    r.loras.length === 0
      ? 'none'
      : r.loras.map((l) => `${l.preset ? `${l.preset} (${l.path})` : l.path} @ ${l.scale}`).join(', ');
  return [
    `Recipe of job ${jobId}`,
    `Model: ${model}`,
    `Prompt: ${String(data.body.prompt ?? r.prompt)}`,
    `LoRAs: ${loras}`,
    ...(r.images?.length ? [`Source images: ${r.images.map(describeSource).join(', ')}`] : []),
    `Seed: ${r.seed ?? 'chosen by Together (not recorded)'}`,
    `Size: ${r.width}x${r.height}, steps: ${r.steps}, images: ${r.n}`,
  ].join('\n');
}

/** A source image in words: its link, the Slack file's name, or which image of which job. */
function describeSource(source: SourceImage): string {
  if (source.kind === 'link') return source.url;
  if (source.kind === 'slack-file') return `a Slack file${source.name ? ` (${source.name})` : ''}`;
  if (source.kind === 'stored') return `an uploaded image${source.name ? ` (${source.name})` : ''}`;
  return `image ${source.index + 1} of job ${source.jobId}`;
}

/** One line of `/flux jobs`. */
export function listedJobLine(job: ListedJob): string {
  const where = job.state === 'running' ? 'running' : `queued, position ${job.position}`;
  const eta = job.etaSeconds === undefined ? '' : `, about ${formatSeconds(job.etaSeconds)} left`;
  return `${job.data.command} (${where}${eta})`;
}

export function formatSeconds(seconds: number): string {
  if (seconds < 90) return `${Math.max(1, Math.round(seconds))} s`;
  return `${Math.round(seconds / 60)} min`;
}

export const NO_JOBS = 'You have no queued or running jobs.';
