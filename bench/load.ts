import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Pool } from 'undici';
import { type FakeSlack, signSlackRequest } from '../test/contract/fakes/fake-slack.js';

/** The signing secret every benchmarked gateway is started with. */
export const SIGNING_SECRET = 'bench-signing-secret';

/** What one signed slash command got back from the gateway. */
export interface Ack {
  sentAt: number;
  ackMs: number;
  status: number;
  /** The ack's body: Slack shows a text in it to the person privately. */
  body: string;
}

/** One slash command as Slack sends it to the gateway: who, where, which command and its text. */
export interface SlashCommand {
  command: '/flux' | '/ask';
  text: string;
  channel: string;
  user: string;
  responseUrl: string;
}

/** Posts one signed slash command to `POST /slack/events`, as Slack does, and reads the ack. */
export async function sendSlash(pool: Pool, slack: FakeSlack, command: SlashCommand): Promise<Ack> {
  const body = new URLSearchParams({
    token: 'deprecated-verification-token',
    team_id: slack.teamId,
    team_domain: 'bench',
    channel_id: command.channel,
    channel_name: 'bench',
    user_id: command.user,
    user_name: command.user.toLowerCase(),
    command: command.command,
    text: command.text,
    response_url: command.responseUrl,
    trigger_id: `${Date.now()}.${randomUUID()}`,
    api_app_id: 'A0BENCH',
  }).toString();
  const sentAt = Date.now();
  const started = performance.now();
  const response = await pool.request({
    path: '/slack/events',
    method: 'POST',
    headers: signSlackRequest(SIGNING_SECRET, body, Math.floor(sentAt / 1000)),
    body,
  });
  const text = await response.body.text();
  return { sentAt, ackMs: performance.now() - started, status: response.statusCode, body: text };
}

/** Sends `total` commands at `perSecond`, on schedule whatever the answers; how late the generator ran. */
export async function openLoop<T>(perSecond: number, total: number, send: (i: number) => Promise<T>) {
  const start = performance.now();
  const pending: Array<Promise<T>> = [];
  let maxLagMs = 0;
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    maxLagMs = Math.max(maxLagMs, performance.now() - due);
    pending.push(send(i));
  }
  return { sent: await Promise.all(pending), maxLagMs };
}

export async function totalCommands(redis: Redis): Promise<number> {
  const info = await redis.info('stats');
  return Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? 0);
}

/** Deletes this run's keys only (SCAN + UNLINK on its prefix): a shared Redis keeps everything else. */
export async function deleteByPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}

export function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
