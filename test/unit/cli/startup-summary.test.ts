import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type SummaryInput, startupSummary } from '../../../src/cli/startup-summary.js';
import { type Config, loadConfig } from '../../../src/config/index.js';
import { redactUrl } from '../../../src/queue/redis-doctor.js';

const SECRETS = {
  TOGETHER_API_KEY: 'tgp_v1_secret-together-key',
  SLACK_BOT_TOKEN: 'xoxb-secret-bot-token',
  SLACK_SIGNING_SECRET: 'secret-signing-secret',
  SLACK_APP_TOKEN: 'xapp-secret-app-token',
  DISCORD_TOKEN: 'secret.discord.token',
  LORABOT_ADMIN_PASSWORD: 'secret-admin-password',
};

function configFrom(env: Record<string, string>): Config {
  const result = loadConfig({ env, cwd: mkdtempSync(join(tmpdir(), 'lorabot-summary-')) });
  if (!result.success) throw new Error(result.error.message);
  return result.data;
}

function summary(env: Record<string, string>, overrides: Partial<SummaryInput> = {}): string {
  return startupSummary({
    role: 'start',
    config: configFrom(env),
    listen: { host: '0.0.0.0', port: 3000 },
    redis: { url: 'redis://127.0.0.1:6379', source: 'local' },
    playground: false,
    ...overrides,
  });
}

/** The text of one section ("On:" or "Off (…):"), up to the next blank line. */
function section(text: string, heading: RegExp): string {
  const lines = text.split('\n');
  const start = lines.findIndex((line) => heading.test(line));
  if (start === -1) return '';
  const end = lines.indexOf('', start);
  return lines.slice(start + 1, end === -1 ? undefined : end).join('\n');
}

const on = (text: string) => section(text, /^On:$/);
const off = (text: string) => section(text, /^Off /);

function expectNoSecrets(text: string): void {
  for (const secret of Object.values(SECRETS)) expect(text).not.toContain(secret);
}

describe('startupSummary', () => {
  it('with nothing set: says what is off and which variables turn it on, and points at /healthz', () => {
    const text = summary({});
    expect(text).toBe(
      [
        'lorabot start: gateway and worker in one process.',
        '',
        'On:',
        '  Health check  http://localhost:3000/healthz',
        '  Worker        up to 2 image and 8 chat jobs at once',
        '  Redis         redis://127.0.0.1:6379 (found on 127.0.0.1:6379; set REDIS_URL to choose another)',
        '',
        'Off (set these to turn on):',
        '  Slack         SLACK_BOT_TOKEN + SLACK_SIGNING_SECRET (HTTP mode), or SLACK_BOT_TOKEN + SLACK_APP_TOKEN (Socket Mode)',
        '  Discord       DISCORD_TOKEN + DISCORD_APPLICATION_ID',
        '  Together      TOGETHER_API_KEY (for https://api.together.ai/v1): images and answers fail until it is set',
        '  Queue board   LORABOT_ADMIN_USER + LORABOT_ADMIN_PASSWORD',
        '',
        'Run `lorabot doctor` to check everything.',
        '',
      ].join('\n'),
    );
  });

  it('Slack in HTTP mode: names the events URL on the real port', () => {
    const text = summary(
      { SLACK_BOT_TOKEN: SECRETS.SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET: SECRETS.SLACK_SIGNING_SECRET },
      { listen: { host: '0.0.0.0', port: 43_210 } },
    );
    expect(on(text)).toMatch(/^ {2}Slack +HTTP mode: events at http:\/\/localhost:43210\/slack\/events /m);
    expect(off(text)).not.toMatch(/Slack/);
    expect(off(text)).toMatch(/Discord +DISCORD_TOKEN \+ DISCORD_APPLICATION_ID/);
    expectNoSecrets(text);
  });

  it('Slack in Socket Mode: no public URL needed', () => {
    const text = summary({
      SLACK_BOT_TOKEN: SECRETS.SLACK_BOT_TOKEN,
      SLACK_APP_TOKEN: SECRETS.SLACK_APP_TOKEN,
    });
    expect(on(text)).toMatch(/^ {2}Slack +Socket Mode \(no public URL needed\)$/m);
    expect(text).not.toContain('/slack/events');
    expectNoSecrets(text);
  });

  it('Discord: on with its application id; Slack still off', () => {
    const text = summary({
      DISCORD_TOKEN: SECRETS.DISCORD_TOKEN,
      DISCORD_APPLICATION_ID: '123456789012345678',
    });
    expect(on(text)).toMatch(/^ {2}Discord +application 123456789012345678$/m);
    expect(off(text)).toMatch(/^ {2}Slack +SLACK_BOT_TOKEN/m);
    expectNoSecrets(text);
  });

  it('everything on: no Off section, the key is "set" but never shown, the Redis password is redacted', () => {
    // HTTP mode: no app token (an empty one would be a config error).
    const { SLACK_APP_TOKEN: _socketMode, ...httpMode } = SECRETS;
    const text = summary(
      {
        ...httpMode,
        DISCORD_APPLICATION_ID: '42',
        TOGETHER_BASE_URL: 'https://together.example/v1',
        LORABOT_ADMIN_USER: 'ops',
        HOST: '127.0.0.1',
      },
      {
        listen: { host: '127.0.0.1', port: 8080 },
        redis: { url: 'redis://app:hunter2@redis.internal:6380/1', source: 'REDIS_URL' },
      },
    );
    expect(off(text)).toBe('');
    expect(text).not.toContain('Off (');
    expect(on(text).split('\n')).toEqual([
      '  Health check  http://127.0.0.1:8080/healthz',
      expect.stringMatching(/^ {2}Slack +HTTP mode: events at http:\/\/127\.0\.0\.1:8080\/slack\/events/),
      '  Discord       application 42',
      '  Worker        up to 2 image and 8 chat jobs at once',
      '  Together      https://together.example/v1 (API key set)',
      '  Queue board   http://127.0.0.1:8080/admin/queues (HTTP basic auth)',
      '  Redis         redis://app:[redacted]@redis.internal:6380/1 (from REDIS_URL)',
    ]);
    expect(text).not.toContain('hunter2');
    expectNoSecrets(text);
  });

  it('shows the web playground at / instead of the health check on a loopback HOST', () => {
    const text = summary({}, { playground: true, listen: { host: '127.0.0.1', port: 3000 } });
    expect(on(text)).toMatch(
      /^ {2}Web playground +http:\/\/127\.0\.0\.1:3000\/ \(this machine only, no login\)$/m,
    );
    expect(text).not.toContain('/healthz');
  });

  it('on a public HOST without LORABOT_WEB_PASSWORD: the playground is off, and says how to turn it on', () => {
    const text = summary({}, { playground: true, listen: { host: '::', port: 3000 } });
    expect(on(text)).toMatch(/^ {2}Health check +http:\/\/localhost:3000\/healthz$/m);
    expect(off(text)).toMatch(
      /^ {2}Web playground +LORABOT_WEB_PASSWORD \(HOST :: is reachable from other machines\), or HOST=127\.0\.0\.1$/m,
    );
  });

  it('with LORABOT_WEB_PASSWORD: the playground asks for a login, and the password is never shown', () => {
    const text = summary({ LORABOT_WEB_PASSWORD: 'secret-web-password' }, { playground: true });
    expect(on(text)).toMatch(
      /^ {2}Web playground +http:\/\/localhost:3000\/ \(log in with LORABOT_WEB_PASSWORD\)$/m,
    );
    expect(text).not.toContain('secret-web-password');
  });

  it('brackets an IPv6 host', () => {
    expect(summary({}, { listen: { host: '::1', port: 3000 } })).toContain('http://[::1]:3000/healthz');
  });

  it('gateway: no worker or Together lines, and says a worker is needed', () => {
    const text = summary({}, { role: 'gateway' });
    expect(text.split('\n')[0]).toMatch(/^lorabot gateway: .*run `lorabot worker`/);
    expect(text).not.toMatch(/^ {2}(Worker|Together) /m);
    expect(on(text)).toMatch(/Health check/);
  });

  it('worker: the shorter form, with where it delivers and no HTTP lines', () => {
    const text = summary(
      { TOGETHER_API_KEY: SECRETS.TOGETHER_API_KEY, DISCORD_TOKEN: 'd', DISCORD_APPLICATION_ID: '1' },
      { role: 'worker', listen: undefined, redis: { url: 'redis://127.0.0.1:41234', source: 'private' } },
    );
    expect(text).toBe(
      [
        'lorabot worker: runs queued jobs and delivers the results.',
        '',
        'On:',
        '  Worker    up to 2 image and 8 chat jobs at once',
        '  Together  https://api.together.ai/v1 (API key set)',
        '  Discord   delivers results',
        '  Redis     redis://127.0.0.1:41234 (a private redis-server, data under .lorabot/redis)',
        '',
        'Off (set these to turn on):',
        '  Slack     SLACK_BOT_TOKEN + SLACK_SIGNING_SECRET (HTTP mode), or SLACK_BOT_TOKEN + SLACK_APP_TOKEN (Socket Mode)',
        '',
        'Run `lorabot doctor` to check everything.',
        '',
      ].join('\n'),
    );
    expectNoSecrets(text);
  });
});

describe('redactUrl', () => {
  it('hides the password wherever a Redis URL can carry one, and keeps the rest', () => {
    expect(redactUrl('redis://:s3cret@host:6379')).toBe('redis://:[redacted]@host:6379');
    expect(redactUrl('rediss://user:s3cret@host:6380/2')).toBe('rediss://user:[redacted]@host:6380/2');
    // An unencoded @ in the password must not leave its tail behind.
    expect(redactUrl('redis://user:pa@ss@host:6379')).toBe('redis://user:[redacted]@host:6379');
    expect(redactUrl('redis://host:6379/0?password=s3cret&db=1')).toBe(
      'redis://host:6379/0?password=[redacted]&db=1',
    );
    expect(redactUrl('redis://user@host:6379')).toBe('redis://user@host:6379');
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
  });
});
