import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';

export const ADMIN_PATH = '/admin/queues';

/**
 * Bull Board (a web view of the queues: waiting, active, failed jobs and their data) for operators. Served by
 * the gateway under `/admin/queues`; the gateway checks the credentials before a request gets here. Read-only
 * unless `writable` (`LORABOT_ADMIN_WRITE=1`): Bull Board then answers every action (retry, clean, promote,
 * add, pause, empty) 405 and hides its buttons, since a job added by hand could deliver anywhere.
 * @see https://github.com/felixmosh/bull-board#board-options
 */
export function createAdminBoard(queues: Queue[], options: { writable: boolean }): RequestListener {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(ADMIN_PATH);
  createBullBoard({
    queues: queues.map((queue) => new BullMQAdapter(queue, { readOnlyMode: !options.writable })),
    serverAdapter,
  });
  const app = serverAdapter.getRouter() as (req: IncomingMessage, res: ServerResponse) => void;
  return (req, res) => {
    // The board's routes are relative to where it is mounted.
    req.url = req.url?.slice(ADMIN_PATH.length) || '/';
    app(req, res);
  };
}
