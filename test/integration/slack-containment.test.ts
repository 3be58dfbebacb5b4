import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/adapters/logging/logger.js';
import { createSlackGateway, type SlackGateway } from '../../src/adapters/slack/slack-app.js';
import type { SlackCommandDeps } from '../../src/adapters/slack/slack-commands.js';
import { type Config, loadConfig } from '../../src/config/index.js';
import { BudgetReservations } from '../../src/queue/budget-reservations.js';
import { GatewayStore } from '../../src/queue/gateway-store.js';
import { JobProducer } from '../../src/queue/job-producer.js';
import { Ledger } from '../../src/queue/ledger.js';
import { createRedis, waitReady } from '../../src/queue/redis-connection.js';
import { RedisKeys } from '../../src/queue/redis-keys.js';
import { FakeSlack, signSlackRequest } from '../contract/fakes/fake-slack.js';
import { FakeSlackSocket } from '../contract/fakes/fake-slack-socket.js';
import { SIGNING_SECRET, writeTestConfig } from '../helpers/lorabot-harness.js';
import { deleteByPrefix, redisUrl } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The Slack gateway in both modes through Bolt's public entry points, logging through the real pino logger at
 * debug level: every envelope acked, a throwing listener contained, and nothing secret in what Bolt and the
 * Socket Mode client log.
 */
const prefix = `{lorabot-test-${randomUUID().slice(0, 8)}}`;
const APP_TOKEN = 'xapp-1-A0LORABOT-1234567890-0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c';
const VERIFICATION_TOKEN = 'Jhj5dZrVaK7ZwHHjRyZWjbDl';
const lines: string[] = [];
const logger = createLogger(
  'debug',
  new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  }),
);
let slack: FakeSlack;
let config: Config;
let connection: ReturnType<typeof createRedis>;
let producer: JobProducer;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  slack = await new FakeSlack().start();
  const loaded = loadConfig({
    env: {
      SLACK_BOT_TOKEN: slack.botToken,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      LORABOT_CONFIG: writeTestConfig(prefix),
    },
    cwd: tmpdir(),
  });
  if (!loaded.success) throw new Error(loaded.error.message);
  config = loaded.data;
  connection = createRedis(redisUrl(), 'producer', 'containment-test');
  await waitReady(connection);
  producer = new JobProducer(connection, new RedisKeys(prefix), config.queue);
});

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await producer.close();
  connection.disconnect();
  await slack.close();
  const cleaner = createRedis(redisUrl(), 'worker', 'cleanup');
  await deleteByPrefix(cleaner, prefix);
  cleaner.disconnect();
});

function deps(overrides: Partial<SlackCommandDeps> = {}): SlackCommandDeps {
  const keys = new RedisKeys(prefix);
  return {
    settings: config.core,
    budgets: config.budgets,
    spend: new Ledger(connection, keys),
    access: config.access,
    queue: producer,
    logger,
    now: Date.now,
    state: new GatewayStore(connection, keys),
    admission: new BudgetReservations(connection, keys, {
      budgets: config.budgets,
      perPersonMaxJobs: config.queue.perPersonMaxJobs,
    }),
    confirmAboveMicros: null,
    contextTokens: 3000,
    ...overrides,
  };
}

function logged(): Array<Record<string, unknown>> {
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('Socket Mode', () => {
  let socket: FakeSlackSocket;
  let gateway: SlackGateway;

  beforeAll(async () => {
    socket = await new FakeSlackSocket().start();
    slack.socketModeUrl = socket.url;
    gateway = createSlackGateway(
      {
        botToken: slack.botToken,
        appToken: APP_TOKEN,
        // Configured alongside the app token, as it often is: it must not show in the logs either.
        signingSecret: SIGNING_SECRET,
        apiUrl: slack.apiUrl,
        logger,
      },
      deps(),
    );
    await gateway.start();
    await waitFor('the Socket Mode client to connect', () => socket.connected);
  });

  afterAll(async () => {
    await gateway.stop();
    await socket.close();
  });

  it('acks an event type lorabot does not use and a slash command it has no listener for within 3 s', async () => {
    const sent = {
      e1: socket.send({
        envelope_id: 'e1',
        type: 'events_api',
        payload: {
          token: VERIFICATION_TOKEN,
          type: 'event_callback',
          team_id: slack.teamId,
          event: { type: 'reaction_added', user: 'U1', reaction: 'tada' },
        },
      }),
      e2: socket.send({
        envelope_id: 'e2',
        type: 'slash_commands',
        payload: { token: VERIFICATION_TOKEN, command: '/weather', text: '', team_id: slack.teamId },
      }),
    };
    for (const id of ['e1', 'e2'] as const) {
      const ack = await waitFor(
        `the ack of ${id}`,
        () => socket.acks.find((a) => a.envelope_id === id),
        5000,
      );
      expect(ack.at - sent[id]).toBeLessThan(3000);
    }
  });

  it('sends the Socket Mode client’s and the Web API client’s debug lines through redaction', async () => {
    const sentAt = socket.send({
      envelope_id: 'e3',
      type: 'events_api',
      payload: {
        token: VERIFICATION_TOKEN,
        type: 'event_callback',
        team_id: slack.teamId,
        event: {
          type: 'reaction_added',
          note: `pasted ${slack.botToken} and ${APP_TOKEN} and ${SIGNING_SECRET}`,
        },
      },
    });
    await waitFor('the ack of e3', () => socket.acks.find((a) => a.envelope_id === 'e3'));
    const text = lines.join('');
    // Bolt's client logged the raw envelope and the connection URL: the lines exist, with their secrets blanked.
    expect(text).toContain('Received a message on the WebSocket');
    expect(text).toContain('[redacted]');
    for (const secret of [
      slack.botToken,
      APP_TOKEN,
      SIGNING_SECRET,
      VERIFICATION_TOKEN,
      'fake-socket-ticket',
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(sentAt).toBeGreaterThan(0);
  });
});

describe('a Slack listener that throws', () => {
  let server: Server;
  let url = '';

  beforeAll(async () => {
    const gateway = createSlackGateway(
      {
        botToken: slack.botToken,
        appToken: undefined,
        signingSecret: SIGNING_SECRET,
        apiUrl: slack.apiUrl,
        logger,
      },
      deps({
        now: () => {
          throw new Error(`clock stopped near ${slack.botToken}`);
        },
      }),
    );
    server = createServer(gateway.httpListener!);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('is logged with the event kind, acked 200, redacted, and the next request is still served', async () => {
    const send = async () => {
      const body = new URLSearchParams({
        team_id: slack.teamId,
        channel_id: 'C0THROW',
        user_id: 'U0THROW',
        command: '/flux',
        text: 'a lighthouse',
        response_url: slack.newResponseUrl(),
        trigger_id: `${Date.now()}.${randomUUID()}`,
      }).toString();
      const started = performance.now();
      const response = await fetch(url, {
        method: 'POST',
        headers: signSlackRequest(SIGNING_SECRET, body, Math.floor(Date.now() / 1000)),
        body,
      });
      return { status: response.status, ms: performance.now() - started };
    };
    const first = await send();
    expect(first.status).toBe(200);
    expect(first.ms).toBeLessThan(3000);
    const failure = await waitFor('the failure line', () =>
      logged().find((line) => line.kind === 'command /flux' && line.level === 50),
    );
    expect(JSON.stringify(failure.err)).toContain('clock stopped near [redacted]');
    expect(JSON.stringify(failure)).not.toContain(slack.botToken);
    expect((await send()).status).toBe(200);
    expect(unhandled).toEqual([]);
  });
});
