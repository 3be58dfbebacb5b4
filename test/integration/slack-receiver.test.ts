import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { App, type Receiver, type ReceiverEvent } from '@slack/bolt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slackClientOptions } from '../../src/adapters/slack/slack-client.js';
import { registerSlackCommands } from '../../src/adapters/slack/slack-commands.js';
import { type Running, startLorabot } from '../../src/cli/runtime.js';
import { type Config, loadConfig } from '../../src/config/index.js';
import type { Logger } from '../../src/core/ports.js';
import { BudgetReservations } from '../../src/queue/budget-reservations.js';
import { GatewayStore } from '../../src/queue/gateway-store.js';
import { JobProducer } from '../../src/queue/job-producer.js';
import { Ledger } from '../../src/queue/ledger.js';
import { createRedis, waitReady } from '../../src/queue/redis-connection.js';
import { RedisKeys } from '../../src/queue/redis-keys.js';
import { FakeSlack } from '../contract/fakes/fake-slack.js';
import { FakeTogether } from '../contract/fakes/fake-together.js';
import { writeTestConfig } from '../helpers/lorabot-harness.js';
import { deleteByPrefix, redisUrl } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Bolt's public Receiver interface, as Socket Mode uses it: events arrive as `app.processEvent({ body, ack })`
 * instead of signed HTTP requests. The same handlers must serve it.
 */
class FakeSocketReceiver implements Receiver {
  private app?: App;
  init(app: App): void {
    this.app = app;
  }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async send(body: Record<string, unknown>): Promise<unknown> {
    let acked: unknown = 'not acked';
    const event: ReceiverEvent = {
      body,
      ack: async (response) => {
        acked = response ?? '';
      },
    };
    await this.app!.processEvent(event);
    return acked;
  }
}

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };
let together: FakeTogether;
let slack: FakeSlack;
let config: Config;
let worker: Running;
let producer: JobProducer;
let connection: ReturnType<typeof createRedis>;
const receiver = new FakeSocketReceiver();
const prefix = `{lorabot-test-${randomUUID().slice(0, 8)}}`;

beforeAll(async () => {
  together = await new FakeTogether().start();
  slack = await new FakeSlack().start();
  const loaded = loadConfig({
    env: {
      TOGETHER_API_KEY: together.apiKey,
      TOGETHER_BASE_URL: together.baseUrl,
      SLACK_BOT_TOKEN: slack.botToken,
      SLACK_APP_TOKEN: 'xapp-socket-mode-token',
      SLACK_API_URL: slack.apiUrl,
      LORABOT_CONFIG: writeTestConfig(prefix),
    },
    cwd: tmpdir(),
  });
  if (!loaded.success) throw new Error(loaded.error.message);
  config = loaded.data;
  worker = await startLorabot(config, {
    gateway: false,
    worker: true,
    logger: silent,
    cwd: tmpdir(),
    redis: { url: redisUrl(), source: 'REDIS_URL' },
  });
  connection = createRedis(redisUrl(), 'producer', 'receiver-test');
  await waitReady(connection);
  producer = new JobProducer(connection, new RedisKeys(prefix), config.queue);
  const app = new App({
    token: slack.botToken,
    receiver,
    clientOptions: slackClientOptions(slack.apiUrl, silent),
  });
  registerSlackCommands(app, {
    settings: config.core,
    budgets: config.budgets,
    spend: new Ledger(connection, new RedisKeys(prefix)),
    admission: new BudgetReservations(connection, new RedisKeys(prefix), {
      budgets: config.budgets,
      perPersonMaxJobs: config.queue.perPersonMaxJobs,
    }),
    access: config.access,
    queue: producer,
    logger: silent,
    now: Date.now,
    state: new GatewayStore(connection, new RedisKeys(prefix)),
    confirmAboveMicros: null,
    contextTokens: 3000,
  });
});

afterAll(async () => {
  await worker.close();
  await producer.close();
  connection.disconnect();
  await Promise.all([together.close(), slack.close()]);
  const cleaner = createRedis(redisUrl(), 'worker', 'cleanup');
  await deleteByPrefix(cleaner, prefix);
  cleaner.disconnect();
});

function command(text: string, channel: string) {
  return {
    token: 'x',
    team_id: slack.teamId,
    channel_id: channel,
    user_id: 'U0SOCKET',
    user_name: 'socket',
    command: '/flux',
    text,
    response_url: slack.newResponseUrl(),
    trigger_id: `${Date.now()}.${randomUUID()}`,
    api_app_id: 'A0LORABOT',
  };
}

describe('Slack through the Receiver interface (Socket Mode)', () => {
  it('queues an accepted /flux and delivers it to the thread', async () => {
    const acked = await receiver.send(command('a lighthouse --size 512x512', 'C0SOCKET'));
    expect(acked).toBe('');
    const parent = await waitFor('the parent message', () => slack.parents('C0SOCKET')[0]);
    const notice = await waitFor('the completion notice', () =>
      slack.thread('C0SOCKET', parent.ts).find((m) => m.text.startsWith('<@U0SOCKET>')),
    );
    expect(notice.text).toBe('<@U0SOCKET> Your image is ready. Cost: $0.035 (1 image × 1 MP × $0.035/MP)');
    expect(slack.files.filter((f) => f.thread_ts === parent.ts)).toHaveLength(1);
  });

  it('acks a user error privately and queues nothing', async () => {
    const acked = (await receiver.send(command('a lighthouse --lora nope', 'C0SOCKETERR'))) as {
      response_type: string;
      text: string;
    };
    expect(acked.response_type).toBe('ephemeral');
    expect(acked.text).toMatch(/Unknown LoRA preset `nope`/);
    await new Promise((r) => setTimeout(r, 100));
    expect(slack.parents('C0SOCKETERR')).toHaveLength(0);
  });
});
