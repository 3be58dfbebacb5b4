import { webAccess } from '../adapters/web/web-auth.js';
import type { Config } from '../config/index.js';
import { describeRedis } from '../queue/redis-doctor.js';
import type { ResolvedRedis } from '../queue/redis-url.js';

/** The long-running roles: `lorabot start` (both halves), `gateway` and `worker`. */
export type ServeRole = 'start' | 'gateway' | 'worker';

/** What the startup summary describes: the role, the parts of the config it names, and where things listen. */
export interface SummaryInput {
  role: ServeRole;
  config: Pick<Config, 'slack' | 'discord' | 'together' | 'queue' | 'admin' | 'webPassword'>;
  /** Where the gateway's HTTP server listens: the bound host and the real port (PORT=0 picks one). */
  listen?: { host: string; port: number } | undefined;
  redis: Pick<ResolvedRedis, 'url' | 'source'>;
  /** Whether the gateway serves the web playground at `/`; otherwise the summary points at `/healthz`. */
  playground: boolean;
}

interface Row {
  on: boolean;
  label: string;
  text: string;
}

const HEADLINE: Record<ServeRole, string> = {
  start: 'lorabot start: gateway and worker in one process.',
  gateway: 'lorabot gateway: takes commands and queues them; run `lorabot worker` to process them.',
  worker: 'lorabot worker: runs queued jobs and delivers the results.',
};

const REDIS_SOURCE: Record<ResolvedRedis['source'], string> = {
  REDIS_URL: 'from REDIS_URL',
  REDIS_CLUSTER_NODES: 'from REDIS_CLUSTER_NODES',
  local: 'found on 127.0.0.1:6379; set REDIS_URL to choose another',
  private: 'a private redis-server, data under .lorabot/redis',
};

/**
 * The plain-text summary a serving process prints once at start-up: what is on, what is off and the variables
 * that turn it on, where it listens, the Redis in use, and where to go next. Secrets never appear: only whether a
 * key is set, and the Redis URL without its password.
 */
export function startupSummary(input: SummaryInput): string {
  const rows = input.role === 'worker' ? workerRows(input) : gatewayRows(input);
  const on = rows.filter((row) => row.on);
  const off = rows.filter((row) => !row.on);
  const width = Math.max(...rows.map((row) => row.label.length)) + 2;
  const render = (row: Row) => `  ${row.label.padEnd(width)}${row.text}`;
  const lines = [HEADLINE[input.role], '', 'On:', ...on.map(render)];
  if (off.length > 0) lines.push('', 'Off (set these to turn on):', ...off.map(render));
  lines.push('', 'Run `lorabot doctor` to check everything.');
  return `${lines.join('\n')}\n`;
}

function gatewayRows(input: SummaryInput): Row[] {
  const { config } = input;
  if (!input.listen) throw new Error('the gateway summary needs the address it listens on');
  const base = baseUrl(input.listen);
  const rows: Row[] = input.playground
    ? webRows(input.listen.host, base, config.webPassword)
    : [{ on: true, label: 'Health check', text: `${base}/healthz` }];
  if (!config.slack) rows.push(slackOff());
  else if (config.slack.appToken) {
    rows.push({ on: true, label: 'Slack', text: 'Socket Mode (no public URL needed)' });
  } else {
    rows.push({
      on: true,
      label: 'Slack',
      text: `HTTP mode: events at ${base}/slack/events (Slack needs it at a public https URL)`,
    });
  }
  rows.push(
    config.discord
      ? { on: true, label: 'Discord', text: `application ${config.discord.applicationId}` }
      : { on: false, label: 'Discord', text: 'DISCORD_TOKEN + DISCORD_APPLICATION_ID' },
  );
  if (input.role === 'start') rows.push(workerRow(input), togetherRow(input));
  rows.push(
    config.admin
      ? { on: true, label: 'Queue board', text: `${base}/admin/queues (HTTP basic auth)` }
      : { on: false, label: 'Queue board', text: 'LORABOT_ADMIN_USER + LORABOT_ADMIN_PASSWORD' },
  );
  rows.push(redisRow(input));
  return rows;
}

/** The playground's address, or why it is refused and how to turn it on (then the health check instead). */
function webRows(host: string, base: string, password: string | undefined): Row[] {
  switch (webAccess(host, password).mode) {
    case 'open':
      return [{ on: true, label: 'Web playground', text: `${base}/ (this machine only, no login)` }];
    case 'password':
      return [{ on: true, label: 'Web playground', text: `${base}/ (log in with LORABOT_WEB_PASSWORD)` }];
    case 'refused':
      return [
        { on: true, label: 'Health check', text: `${base}/healthz` },
        {
          on: false,
          label: 'Web playground',
          text: `LORABOT_WEB_PASSWORD (HOST ${host} is reachable from other machines), or HOST=127.0.0.1`,
        },
      ];
  }
}

/** The worker's shorter form: what it runs, who it calls, where it delivers. */
function workerRows(input: SummaryInput): Row[] {
  const { config } = input;
  return [
    workerRow(input),
    togetherRow(input),
    config.slack ? { on: true, label: 'Slack', text: 'delivers results' } : slackOff(),
    config.discord
      ? { on: true, label: 'Discord', text: 'delivers results' }
      : { on: false, label: 'Discord', text: 'DISCORD_TOKEN + DISCORD_APPLICATION_ID' },
    redisRow(input),
  ];
}

function workerRow({ config }: SummaryInput): Row {
  return {
    on: true,
    label: 'Worker',
    text: `up to ${config.queue.image.concurrency} image and ${config.queue.chat.concurrency} chat jobs at once`,
  };
}

function togetherRow({ config }: SummaryInput): Row {
  return config.together.apiKey
    ? { on: true, label: 'Together', text: `${config.together.baseUrl} (API key set)` }
    : {
        on: false,
        label: 'Together',
        text: `TOGETHER_API_KEY (for ${config.together.baseUrl}): images and answers fail until it is set`,
      };
}

function slackOff(): Row {
  return {
    on: false,
    label: 'Slack',
    text: 'SLACK_BOT_TOKEN + SLACK_SIGNING_SECRET (HTTP mode), or SLACK_BOT_TOKEN + SLACK_APP_TOKEN (Socket Mode)',
  };
}

function redisRow({ redis }: SummaryInput): Row {
  return { on: true, label: 'Redis', text: `${describeRedis(redis.url)} (${REDIS_SOURCE[redis.source]})` };
}

/** A URL a person can open: a wildcard bind address is reached as localhost. */
function baseUrl(listen: { host: string; port: number }): string {
  const wildcard = listen.host === '0.0.0.0' || listen.host === '::';
  const host = wildcard ? 'localhost' : listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return `http://${host}:${listen.port}`;
}
