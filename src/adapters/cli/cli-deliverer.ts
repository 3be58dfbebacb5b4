import type { CliTarget, Deliverer } from '../../core/jobs.js';

/**
 * `lorabot run` reads results from the finished job itself (its return value) and progress from the queue's
 * events, so nothing is posted anywhere for a CLI job.
 */
export class CliDeliverer implements Deliverer<CliTarget> {
  async updateStatus(): Promise<void> {}
  async postImages(): Promise<void> {}
  async postAnswer(): Promise<void> {}
  async notify(): Promise<void> {}
}
