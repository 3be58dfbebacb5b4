import type { Job } from 'bullmq';
import { imageFileName } from '../core/image-files.js';
import {
  type Deliverer,
  type ImageCaption,
  type ImageJobData,
  type JobOutcome,
  jobView,
} from '../core/jobs.js';
import { callTogether } from './billed-calls.js';
import { imageCost } from './job-costs.js';
import type { Steps } from './step-journal.js';
import { callOptions, type WorkerServices } from './worker-services.js';

/**
 * Together's images, saved before any delivery so that a retried job never generates (and pays) twice. Their bytes
 * are kept as bytes; a result saved before they were (base64 text) still reads.
 */
export interface ImageCheckpoint {
  images: Array<{ mimeType: string; bytes?: Buffer; base64?: string }>;
  requestId: string | undefined;
}

/** A saved image's bytes, whichever way it was saved. */
export function savedImageBytes(image: ImageCheckpoint['images'][number]): Buffer {
  return image.bytes ?? Buffer.from(image.base64 ?? '', 'base64');
}

/**
 * An image job: generate (or take the saved result of an earlier attempt), post the images once, charge once. A
 * call an earlier attempt lost with its worker is charged apart (`callTogether`).
 * @see https://docs.together.ai/reference/post-images-generations
 */
export async function runImageJob(
  services: WorkerServices,
  job: Job<ImageJobData>,
  run: { deliverer: Deliverer; steps: Steps; signal: AbortSignal | undefined },
): Promise<JobOutcome> {
  const id = job.id!;
  const data = job.data;
  const checkpoint =
    (await services.journal.loadCheckpoint<ImageCheckpoint>(id)) ??
    (await generate(services, job, run.signal));
  const images = checkpoint.images.map((image, index) => ({
    mimeType: image.mimeType,
    fileName: imageFileName({
      mimeType: image.mimeType,
      seed: data.request.seed,
      jobId: id,
      index,
      count: checkpoint.images.length,
    }),
    bytes: savedImageBytes(image),
  }));
  const cost = imageCost(services, data);
  const caption: ImageCaption = {
    view: jobView(id, data),
    prompt: data.request.prompt,
    ...(data.request.seed !== undefined ? { seed: data.request.seed } : {}),
    costText: cost.text,
  };
  await run.steps.once('images', (post) => run.deliverer.postImages(data.target, images, post, caption));
  await services.finish(job, run.deliverer, run.steps, cost);
  const outcome: JobOutcome = { kind: 'flux', costMicros: cost.micros, costText: cost.text };
  if (data.target.platform === 'cli') {
    outcome.images = images.map(({ mimeType, fileName, bytes }) => ({
      mimeType,
      fileName,
      base64: bytes.toString('base64'),
    }));
  }
  return outcome;
}

/**
 * Resolves the job's source images, then calls Together. The images are resolved before the call is marked
 * started: a download that a stopped worker loses is not a call Together may have billed.
 */
async function generate(
  services: WorkerServices,
  job: Job<ImageJobData>,
  signal: AbortSignal | undefined,
): Promise<ImageCheckpoint> {
  const body = await services.togetherBody(job, signal);
  return callTogether(services, job, {
    run: (attempts) =>
      services.timed('image', () =>
        services.deps.images.generateImages(body, { ...callOptions(job.data, signal), attempts }),
      ),
    save: (result): ImageCheckpoint => ({
      images: result.images.map((image) => ({
        mimeType: image.mimeType,
        bytes: Buffer.from(image.bytes.buffer, image.bytes.byteOffset, image.bytes.byteLength),
      })),
      requestId: result.requestId,
    }),
  });
}
