import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/adapters/logging/logger.js';
import { type Running, startLorabot } from '../../src/cli/runtime.js';
import { type Config, loadConfig } from '../../src/config/index.js';
import type { IntakeHook } from '../../src/core/intake.js';
import { createRedis } from '../../src/queue/redis-connection.js';
import {
  deliverEvent,
  type EventEnvelope,
  FakeSlack,
  signSlackRequest,
} from '../contract/fakes/fake-slack.js';
import { FakeTogether, type FakeTogetherOptions } from '../contract/fakes/fake-together.js';
import { fakeSlackEnv } from './fake-env.js';
import { deleteByPrefix, type RedisKind, redisAddress } from './redis.js';
import { waitFor } from './wait.js';

export const SIGNING_SECRET = 'test-signing-secret-8f742231b10e';

/** A test config file: a unique queue prefix, fast retries, no rate limit in the way, and a preset with a trigger. */
/**
 * The link probe in tests: off unless a test turns it on (the tests' `--image` links name hosts that do not
 * resolve here), and allowed to reach 127.0.0.1, where a test's own servers listen.
 */
const PROBE_DEFAULTS = ['  probe_links: false', '  probe_private_hosts: true'];

/** `extra` with the probe defaults added to its `sources:` block, where it has one and does not set them. */
function withProbeDefaults(extra: string): string {
  const lines = extra.split('\n');
  const at = lines.indexOf('sources:');
  if (at < 0) return extra;
  const missing = PROBE_DEFAULTS.filter((line) => !extra.includes(line.trim().split(':')[0]!));
  lines.splice(at + 1, 0, ...missing);
  return lines.join('\n');
}

export function writeTestConfig(prefix: string, extra = '', queueExtra: string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), 'lorabot-e2e-'));
  const path = join(dir, 'lorabot.config.yaml');
  writeFileSync(
    path,
    [
      'queue:',
      `  prefix: "${prefix}"`,
      '  backoff_ms: 100',
      ...queueExtra.map((line) => `  ${line}`),
      '  image: { concurrency: 4, rate_limit_per_minute: 6000 }',
      '  chat: { concurrency: 4, rate_limit_per_minute: 6000 }',
      // Vary, Edit and Slack files reach the fake Together inline: the tests have no public https address.
      ...(extra.includes('sources:') ? [] : ['sources:', '  image_as: data_url', ...PROBE_DEFAULTS]),
      'together:',
      '  retries: { max_retries: 1, base_delay_ms: 50, max_backoff_ms: 200, max_server_delay_ms: 5000 }',
      'loras:',
      '  tarot:',
      '    url: https://huggingface.co/multimodalart/flux-tarot-v1',
      '    trigger: in the style of TOK a trtcrd tarot style',
      '    scale: 0.9',
      withProbeDefaults(extra),
    ].join('\n'),
  );
  return path;
}

export interface Harness {
  together: FakeTogether;
  slack: FakeSlack;
  config: Config;
  running: Running;
  logs: string[];
  prefix: string;
  redisUrl: string;
  configPath: string;
  /** POSTs a signed slash command to the gateway; returns the HTTP status, body and how long the ack took. */
  slash(
    fields: Partial<SlashFields> & { command: string; text: string },
    options?: SlashOptions,
  ): Promise<SlashResult>;
  /** A user presses a button (`action_id`, `value`) on a message; Slack posts block_actions to the gateway. */
  press(options: {
    actionId: string;
    value: string;
    userId?: string;
    channelId?: string;
    messageTs?: string;
    /** The pressed message is a reply in this thread. */
    threadTs?: string;
  }): Promise<{ status: number; responseUrl: string }>;
  /**
   * A user picks the "Edit with lorabot" message shortcut on a message with these `files`; Slack posts
   * message_action to the gateway.
   */
  shortcut(options: {
    callbackId: string;
    userId: string;
    channelId: string;
    files?: Array<Record<string, unknown>>;
  }): Promise<{ status: number; responseUrl: string; triggerId: string }>;
  /** A user submits a modal lorabot opened (`views.open`), with `values` by block and action id. */
  submitView(options: {
    viewId: string;
    userId: string;
    values: Record<string, Record<string, string>>;
  }): Promise<number>;
  /** A user writes a message (in a thread when `threadTs` is set); Slack posts the event to the gateway. */
  say(options: SayOptions): Promise<number>;
  /** Slack posts an Events API request (e.g. one the fake Slack made: an assistant thread's events). */
  event(envelope: EventEnvelope): Promise<number>;
  /** Slack posts this Events API event (e.g. `app_home_opened`) to the gateway, in a signed envelope. */
  appEvent(event: Record<string, unknown>): Promise<number>;
  close(): Promise<void>;
}

/** A message event as Slack sends it; the optional fields are those of recorded thread replies. */
export interface SayOptions {
  text: string;
  channelId: string;
  threadTs?: string;
  userId?: string;
  /** `thread_broadcast` ("Also send to channel"), `file_share` (with `files`). */
  subtype?: string;
  files?: SayFile[];
  /** Slack Connect: the envelope's team (the partner's), the writer's team, and the installations it is for. */
  team?: string;
  userTeam?: string;
  authorizations?: Array<{ team_id: string }>;
}

/** A file shared with a message, as Slack's file object gives it. */
export interface SayFile {
  id: string;
  name: string;
  mimetype?: string;
  size?: number;
  url_private?: string;
  original_w?: number;
  original_h?: number;
}

export interface SlashFields {
  token: string;
  team_id: string;
  team_domain: string;
  channel_id: string;
  channel_name: string;
  user_id: string;
  user_name: string;
  command: string;
  text: string;
  response_url: string;
  trigger_id: string;
  api_app_id: string;
}

export interface SlashOptions {
  /** Sign with this secret instead of the right one. */
  secret?: string;
  /** Unix seconds to sign with. */
  timestamp?: number;
  /** Send exactly this body (for a repeated delivery). */
  body?: string;
}

export interface SlashResult {
  status: number;
  text: string;
  ackMs: number;
  body: string;
}

export async function startHarness(
  options: {
    env?: Record<string, string>;
    configExtra?: string;
    /** Lines added under `queue:` in the config, e.g. `per_person_max_jobs: 20`. */
    queueExtra?: string[];
    /** Another Redis (its keys are then left there); default the suite's Redis of kind `redis`. */
    redisUrl?: string;
    /** Which of the suite's Redis to run on: one server (default) or the Redis Cluster. */
    redis?: RedisKind;
    /** How the fake Together behaves: which models refuse LoRAs, need data sharing, or are gone. */
    together?: FakeTogetherOptions;
    /** Runs at each point of the gateway's launches between the claim and the queue (`StartOptions.afterIntake`). */
    afterIntake?: IntakeHook;
  } = {},
): Promise<Harness> {
  const together = await new FakeTogether(options.together).start();
  const slack = await new FakeSlack().start();
  const prefix = `{lorabot-test-${randomUUID().slice(0, 8)}}`;
  const env = {
    ...fakeSlackEnv(together, slack, SIGNING_SECRET),
    PORT: '0',
    HOST: '127.0.0.1',
    LORABOT_CONFIG: writeTestConfig(prefix, options.configExtra, options.queueExtra),
    ...options.env,
  };
  const loaded = loadConfig({ env, cwd: tmpdir() });
  if (!loaded.success) throw new Error(loaded.error.message);
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const logger = createLogger('debug', sink);
  const address = options.redisUrl ?? redisAddress(options.redis ?? 'single');
  const running = await startLorabot(loaded.data, {
    gateway: true,
    worker: true,
    logger,
    cwd: tmpdir(),
    redis: { url: address, source: options.redis === 'cluster' ? 'REDIS_CLUSTER_NODES' : 'REDIS_URL' },
    ...(options.afterIntake ? { afterIntake: options.afterIntake } : {}),
  });
  let triggers = 0;
  /** Posts an interactivity payload, signed, as Slack does (a form with one `payload` field). */
  const interact = async (payload: Record<string, unknown>): Promise<number> => {
    const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
    const response = await fetch(`${running.httpUrl}/slack/events`, {
      method: 'POST',
      headers: signSlackRequest(SIGNING_SECRET, body, Math.floor(Date.now() / 1000)),
      body,
    });
    await response.text();
    return response.status;
  };

  return {
    together,
    slack,
    config: loaded.data,
    running,
    logs,
    prefix,
    redisUrl: address,
    configPath: env.LORABOT_CONFIG,
    async slash(fields, slashOptions = {}) {
      triggers++;
      const payload: SlashFields = {
        token: 'deprecated-verification-token',
        team_id: slack.teamId,
        team_domain: 'lorabot-test',
        channel_id: 'C0GENERAL',
        channel_name: 'general',
        user_id: 'U0PANDA',
        user_name: 'panda',
        response_url: slack.newResponseUrl(),
        trigger_id: `${Date.now()}.${triggers}.${randomUUID().slice(0, 8)}`,
        api_app_id: 'A0LORABOT',
        ...fields,
      };
      const body =
        slashOptions.body ?? new URLSearchParams(payload as unknown as Record<string, string>).toString();
      const timestamp = slashOptions.timestamp ?? Math.floor(Date.now() / 1000);
      const started = performance.now();
      const response = await fetch(`${running.httpUrl}/slack/events`, {
        method: 'POST',
        headers: signSlackRequest(slashOptions.secret ?? SIGNING_SECRET, body, timestamp),
        body,
      });
      const text = await response.text();
      return { status: response.status, text, ackMs: performance.now() - started, body };
    },
    async press(press) {
      triggers++;
      const responseUrl = slack.newResponseUrl();
      const channel = press.channelId ?? 'C0GENERAL';
      const payload = {
        type: 'block_actions',
        team: { id: slack.teamId, domain: 'lorabot-test' },
        user: { id: press.userId ?? 'U0PANDA', username: 'panda', team_id: slack.teamId },
        api_app_id: 'A0LORABOT',
        token: 'deprecated-verification-token',
        container: { type: 'message', message_ts: press.messageTs ?? '1.000001', channel_id: channel },
        trigger_id: slack.newTriggerId(),
        channel: { id: channel, name: 'general' },
        message: {
          type: 'message',
          ts: press.messageTs ?? '1.000001',
          text: '',
          ...(press.threadTs ? { thread_ts: press.threadTs } : {}),
        },
        response_url: responseUrl,
        actions: [
          {
            type: 'button',
            action_id: press.actionId,
            block_id: 'b1',
            value: press.value,
            text: { type: 'plain_text', text: 'button' },
            action_ts: String(Date.now() / 1000),
          },
        ],
      };
      return { status: await interact(payload), responseUrl };
    },
    async shortcut(options) {
      const responseUrl = slack.newResponseUrl();
      const triggerId = slack.newTriggerId();
      const ts = `${Math.floor(Date.now() / 1000)}.${String(800000 + ++triggers)}`;
      const status = await interact({
        type: 'message_action',
        token: 'deprecated-verification-token',
        action_ts: String(Date.now() / 1000),
        team: { id: slack.teamId, domain: 'lorabot-test' },
        user: { id: options.userId, name: 'someone', team_id: slack.teamId },
        channel: { id: options.channelId, name: 'general' },
        is_enterprise_install: false,
        callback_id: options.callbackId,
        trigger_id: triggerId,
        response_url: responseUrl,
        message_ts: ts,
        message: {
          type: 'message',
          user: 'U0SOMEONE',
          ts,
          text: 'look at this',
          ...(options.files ? { files: options.files } : {}),
        },
      });
      return { status, responseUrl, triggerId };
    },
    async submitView(options) {
      const opened = slack.views.find((v) => v.id === options.viewId);
      if (!opened) throw new Error(`no view ${options.viewId}`);
      const values = Object.fromEntries(
        Object.entries(options.values).map(([block, actions]) => [
          block,
          Object.fromEntries(
            Object.entries(actions).map(([action, value]) => [action, { type: 'plain_text_input', value }]),
          ),
        ]),
      );
      return interact({
        type: 'view_submission',
        team: { id: slack.teamId, domain: 'lorabot-test' },
        user: { id: options.userId, username: 'someone', name: 'someone', team_id: slack.teamId },
        api_app_id: 'A0LORABOT',
        token: 'deprecated-verification-token',
        trigger_id: slack.newTriggerId(),
        view: {
          ...opened.view,
          id: opened.id,
          team_id: slack.teamId,
          app_id: 'A0LORABOT',
          hash: `${Date.now()}.abc`,
          state: { values },
        },
        response_urls: [],
        is_enterprise_install: false,
      });
    },
    event: (envelope) => deliverEvent(`${running.httpUrl}/slack/events`, SIGNING_SECRET, envelope),
    async say(message) {
      triggers++;
      return deliverEvent(`${running.httpUrl}/slack/events`, SIGNING_SECRET, {
        token: 'deprecated-verification-token',
        team_id: message.team ?? slack.teamId,
        api_app_id: 'A0LORABOT',
        type: 'event_callback',
        ...(message.authorizations
          ? {
              authorizations: message.authorizations.map((a) => ({
                ...a,
                enterprise_id: null,
                user_id: 'U0LORABOT',
                is_bot: true,
                is_enterprise_install: false,
              })),
            }
          : {}),
        event_id: `Ev${Date.now()}${triggers}`,
        event_time: Math.floor(Date.now() / 1000),
        event: {
          type: 'message',
          channel: message.channelId,
          channel_type: 'channel',
          user: message.userId ?? 'U0PANDA',
          text: message.text,
          ts: `${Math.floor(Date.now() / 1000)}.${String(900000 + triggers)}`,
          ...(message.threadTs ? { thread_ts: message.threadTs } : {}),
          ...(message.subtype ? { subtype: message.subtype } : {}),
          ...(message.files ? { files: message.files } : {}),
          ...(message.userTeam ? { user_team: message.userTeam, source_team: message.userTeam } : {}),
        },
      });
    },
    async appEvent(event) {
      triggers++;
      return deliverEvent(`${running.httpUrl}/slack/events`, SIGNING_SECRET, {
        token: 'deprecated-verification-token',
        team_id: slack.teamId,
        api_app_id: 'A0LORABOT',
        type: 'event_callback',
        event_id: `Ev${Date.now()}${triggers}`,
        event_time: Math.floor(Date.now() / 1000),
        event,
      });
    },
    async close() {
      await running.close();
      await Promise.all([together.close(), slack.close()]);
      if (!options.redisUrl) {
        const cleaner = createRedis(address, 'worker', 'test-cleaner');
        await deleteByPrefix(cleaner, prefix);
        cleaner.disconnect();
      }
    },
  };
}

/** Waits for a failed command's parent message, its failure notice to the requester, and its Failed status. */
export async function waitForFailure(
  h: Harness,
  channel: string,
  command: '/flux' | '/ask',
  timeoutMs = 20_000,
): Promise<{ parent: { ts: string; text: string }; notice: { text: string } }> {
  const parent = await waitFor('the parent message', () => h.slack.parents(channel)[0]);
  const notice = await waitFor(
    'the failure notice',
    () =>
      h.slack
        .thread(channel, parent.ts)
        .find((m) => m.text.startsWith(`<@U0PANDA> Your ${command} request failed`)),
    timeoutMs,
  );
  await waitFor('the failed status', () => parent.text.includes('Failed'));
  return { parent, notice };
}

/** Sends a slash command and waits for what lorabot posts to its `response_url` (a private reply). */
export async function slashReply(
  h: Harness,
  fields: Partial<SlashFields> & { command: string; text: string },
): Promise<{ id: string; body: Record<string, unknown> }> {
  const url = h.slack.newResponseUrl();
  await h.slash({ ...fields, response_url: url });
  return waitFor(`the reply to ${fields.command} ${fields.text}`, () =>
    h.slack.responses.find((r) => url.endsWith(r.id)),
  );
}
