import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metrics } from '../../src/adapters/metrics/metrics.js';
import { GatewayStore } from '../../src/queue/gateway-store.js';
import { RedisKeys } from '../../src/queue/redis-keys.js';
import type { FakeMessage } from '../contract/fakes/fake-discord.js';
import { FakeTogether } from '../contract/fakes/fake-together.js';
import { type DiscordHarness, startDiscordHarness } from '../helpers/discord-harness.js';
import { type Harness, startHarness, writeTestConfig } from '../helpers/lorabot-harness.js';
import { deleteByPrefix, redisUrl } from '../helpers/redis.js';
import { runCli } from '../helpers/run-cli.js';
import { waitFor } from '../helpers/wait.js';
import type { PrivateAnswer, Request } from '../platform/driver.js';
import { startWebDriver, type WebDriver } from '../platform/web-driver.js';

/**
 * Every entry point on every platform goes through the one inbound service: the same access rule, budget,
 * confirmation and metric labels hold for a slash command, a button, a mention, a DM and a thread follow-up.
 * Budgets: $0.10 a day per person; above $0.05 asks Run/Cancel. `pricey` is a chat model whose upper bound is
 * about $0.06, so a follow-up in its conversation needs a confirmation.
 */
const CONFIG = [
  'budgets:',
  '  user_per_day_usd: 0.1',
  '  confirm_above_usd: 0.05',
  'chat:',
  '  models:',
  '    default:',
  '      id: meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo',
  '      max_tokens: 256',
  '      pricing: { input_usd_per_m_tokens: 0.18, output_usd_per_m_tokens: 0.18 }',
  '    pricey:',
  '      id: acme/pricey-lora',
  '      max_tokens: 1000',
  '      pricing: { input_usd_per_m_tokens: 1, output_usd_per_m_tokens: 60 }',
];

type Outcome = 'not_allowed' | 'over_budget' | 'confirm';

/** The value of one `lorabot_commands_total` series in a Prometheus text. */
function commandCount(text: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  const line = text.split('\n').find((l) => l.startsWith(`lorabot_commands_total{${wanted}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

/** The value of one `lorabot_commands_total` series on a gateway's `GET /metrics`. */
async function commands(httpUrl: string, labels: Record<string, string>): Promise<number> {
  return commandCount(await (await fetch(`${httpUrl}/metrics`)).text(), labels);
}

/** Slack and Discord closed everywhere: the web and the terminal are not places these rules speak of. */
const CLOSED = ['access:', '  slack: { channels: ["C0NONE"] }', '  discord: { guilds: ["1"], dms: false }'];

/** Spends the whole daily budget of `userId`, so any request of theirs is over budget. */
async function spendBudget(
  ledger: NonNullable<Harness['running']['workers']>['ledgerView'],
  platform: 'slack' | 'discord' | 'web',
  where: { workspaceId: string; channelId: string; userId: string },
) {
  await ledger.charge({
    jobId: `spent-${platform}-${where.workspaceId}-${where.userId}`,
    at: new Date().toISOString(),
    platform,
    ...where,
    kind: 'flux',
    model: 'black-forest-labs/FLUX.2-dev',
    micros: 100_000,
    status: 'charged',
    costText: 'Cost: $0.10',
  });
}

/** Keeps a conversation in Redis as an earlier `/ask` with `model` would have left it. */
async function seedConversation(
  redisUrl: string,
  prefix: string,
  ref: { platform: 'slack' | 'discord'; key: string; aliases: string[]; model: string },
) {
  const redis = new Redis(redisUrl);
  try {
    await new GatewayStore(redis, new RedisKeys(prefix)).appendTurns(
      ref.platform,
      { key: ref.key, aliases: ref.aliases },
      [
        { role: 'user', content: 'what is a LoRA?', userId: 'U0FIRST', model: ref.model },
        { role: 'assistant', content: 'A small adapter.' },
      ],
    );
  } finally {
    redis.disconnect();
  }
}

describe('Slack: every entry point goes through the one inbound service', () => {
  let h: Harness;
  let seedJob: string;
  const TEAM = () => h.slack.teamId;

  beforeAll(async () => {
    h = await startHarness({
      // Assistant threads are in each person's DM with lorabot (D + their id without the U).
      configExtra: [...CONFIG, 'access:', '  slack: { channels: ["C0IN", "D0SPENT4", "D0NEW4"] }'].join('\n'),
    });
    const ledger = h.running.workers!.ledgerView;
    await spendBudget(ledger, 'slack', { workspaceId: TEAM(), channelId: 'D0SPENT4', userId: 'U0SPENT4' });
    for (const userId of ['U0SPENT1', 'U0SPENT2', 'U0SPENT3'])
      await spendBudget(ledger, 'slack', { workspaceId: TEAM(), channelId: 'C0IN', userId });
    for (const [channel, ts] of [
      ['C0IN', '1700000000.000100'],
      ['C0OUT', '1700000000.000200'],
    ] as const) {
      const key = `slack:${channel}:${ts}`;
      await seedConversation(h.redisUrl, h.prefix, { platform: 'slack', key, aliases: [], model: 'pricey' });
    }
    // An image of two ($0.07): asked to confirm, then run, so Regenerate has a recipe to repeat.
    const asked = await h.slash({
      channel_id: 'C0IN',
      user_id: 'U0SEED',
      command: '/flux',
      text: 'seed --n 2 --size 512x512',
    });
    seedJob = /"value":"([^"]+)"/.exec((await responseTo(asked.body)).blocks)![1]!;
    await h.press({ actionId: 'lorabot_run', value: seedJob, userId: 'U0SEED', channelId: 'C0IN' });
    await waitFor(
      'the seed image',
      async () => (await h.running.producer!.find(seedJob))?.state === 'ended',
      20_000,
    );
  });

  afterAll(async () => {
    await h?.close();
  });

  /** The private answer sent to a slash command's or a button's `response_url`. */
  async function responseTo(requestBody: string): Promise<{ text: string; blocks: string }> {
    const params = new URLSearchParams(requestBody);
    const url = params.get('response_url') ?? JSON.parse(params.get('payload') ?? '{}').response_url;
    const id = String(url).split('/').pop();
    const response = await waitFor('the private answer', () => h.slack.responses.find((r) => r.id === id));
    return { text: String(response.body.text), blocks: JSON.stringify(response.body.blocks ?? []) };
  }

  /** The ephemeral message posted to `user` in a thread. */
  async function ephemeralTo(user: string, threadTs: string): Promise<{ text: string; blocks: string }> {
    const call = await waitFor('the ephemeral answer', () =>
      h.slack
        .callsTo('chat.postEphemeral')
        .find((c) => c.args.user === user && c.args.thread_ts === threadTs),
    );
    return { text: String(call.args.text), blocks: JSON.stringify(call.args.blocks ?? []) };
  }

  const expected: Record<Outcome, (answer: { text: string; blocks: string }) => void> = {
    not_allowed: (a) => expect(a.text).toContain('lorabot is not enabled here'),
    over_budget: (a) => expect(a.text).toMatch(/^Over budget: You have spent \$0\.10 of your daily budget/),
    confirm: (a) => {
      expect(a.text).toMatch(/above the \$0\.05 that needs a confirmation\. Run it\?/);
      expect(a.blocks).toContain('"action_id":"lorabot_run"');
    },
  };

  const slash = (text: string, userId: string, channelId: string) => async () => {
    const sent = await h.slash({ channel_id: channelId, user_id: userId, command: '/flux', text });
    // A refusal before any I/O rides on the ack itself; anything later comes by the response_url.
    const acked = sent.text ? (JSON.parse(sent.text) as { text?: string }) : {};
    return acked.text ? { text: acked.text, blocks: '' } : responseTo(sent.body);
  };
  const regenerate = (userId: string, channelId: string) => async () => {
    const pressed = await h.press({ actionId: 'lorabot_regenerate', value: seedJob, userId, channelId });
    return responseTo(new URLSearchParams({ response_url: pressed.responseUrl }).toString());
  };
  const reply = (userId: string, channelId: string, threadTs: string) => async () => {
    await h.say({ channelId, threadTs, userId, text: 'and then?' });
    return ephemeralTo(userId, threadTs);
  };

  /** Opens an assistant thread for `userId`, writes `text` in it, and reads lorabot's answer in the thread. */
  const assistant = (text: string, userId: string) => async () => {
    const { thread, envelope } = h.slack.openAssistantThread({ userId });
    await h.event(envelope);
    await h.event(h.slack.assistantMessage(thread, { text }));
    // The greeting first, then the answer: the thread is in the person's own DM with lorabot.
    const answer = await waitFor(
      'the answer in the thread',
      () => h.slack.thread(thread.channel, thread.threadTs)[1],
    );
    return { text: answer.text, blocks: JSON.stringify(answer.blocks ?? []) };
  };

  const rows: Array<{
    entry: string;
    kind: string;
    outcome: Outcome;
    act: () => Promise<{ text: string; blocks: string }>;
  }> = [
    { entry: 'slash', kind: 'flux', outcome: 'not_allowed', act: slash('a fox', 'U0PANDA', 'C0OUT') },
    { entry: 'slash', kind: 'flux', outcome: 'over_budget', act: slash('a fox', 'U0SPENT1', 'C0IN') },
    {
      entry: 'slash',
      kind: 'flux',
      outcome: 'confirm',
      act: slash('foxes --n 2 --size 512x512', 'U0NEW1', 'C0IN'),
    },
    { entry: 'button', kind: 'flux', outcome: 'not_allowed', act: regenerate('U0PANDA', 'C0OUT') },
    { entry: 'button', kind: 'flux', outcome: 'over_budget', act: regenerate('U0SPENT2', 'C0IN') },
    { entry: 'button', kind: 'flux', outcome: 'confirm', act: regenerate('U0NEW2', 'C0IN') },
    {
      entry: 'thread',
      kind: 'ask',
      outcome: 'not_allowed',
      act: reply('U0OUT', 'C0OUT', '1700000000.000200'),
    },
    {
      entry: 'thread',
      kind: 'ask',
      outcome: 'over_budget',
      act: reply('U0SPENT3', 'C0IN', '1700000000.000100'),
    },
    { entry: 'thread', kind: 'ask', outcome: 'confirm', act: reply('U0NEW3', 'C0IN', '1700000000.000100') },
    { entry: 'assistant', kind: 'ask', outcome: 'not_allowed', act: assistant('what is a LoRA?', 'U0OUT4') },
    { entry: 'assistant', kind: 'flux', outcome: 'over_budget', act: assistant('draw a fox', 'U0SPENT4') },
    {
      entry: 'assistant',
      kind: 'flux',
      outcome: 'confirm',
      act: assistant('draw foxes --n 2 --size 512x512', 'U0NEW4'),
    },
  ];

  it.each(rows)(
    '$entry: $outcome is answered privately, queues nothing and counts {entry="$entry",kind="$kind"}',
    async (row) => {
      const labels = { platform: 'slack', entry: row.entry, kind: row.kind, outcome: row.outcome };
      const before = await commands(h.running.httpUrl!, labels);
      const calls = h.together.calls.length;
      expected[row.outcome](await row.act());
      await waitFor('the count', async () => (await commands(h.running.httpUrl!, labels)) === before + 1);
      expect(h.together.calls.length).toBe(calls);
    },
  );

  it('takes "Also send to channel" replies as follow-ups, and refuses a picture in a text-only conversation', async () => {
    await h.say({
      channelId: 'C0IN',
      threadTs: '1700000000.000100',
      userId: 'U0BCAST',
      text: 'also to channel',
      subtype: 'thread_broadcast',
    });
    expected.confirm(await ephemeralTo('U0BCAST', '1700000000.000100'));
    const calls = h.together.calls.length;
    await h.say({
      channelId: 'C0IN',
      threadTs: '1700000000.000100',
      userId: 'U0FILE',
      text: 'see this',
      subtype: 'file_share',
      files: [
        {
          id: 'F0PHOTO',
          name: 'photo.png',
          url_private: 'https://files.slack.com/files-pri/T0-F0PHOTO/photo.png',
        },
      ],
    });
    const refusal = await waitFor('the refusal', () =>
      h.slack.callsTo('chat.postEphemeral').find((c) => c.args.user === 'U0FILE'),
    );
    expect(String(refusal.args.text)).toContain(
      "The chat model `pricey` does not read pictures, and none of lorabot's chat models does.",
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(h.slack.callsTo('chat.postEphemeral').filter((c) => c.args.user === 'U0FILE')).toHaveLength(1);
    expect(h.together.calls.length).toBe(calls);
  });

  it('answers a Slack Connect partner in a shared thread and charges their own workspace', async () => {
    const month = new Date().toISOString().slice(0, 7);
    const ours = () => h.running.workers!.ledgerView.total('workspace', `slack:${TEAM()}`, 'month', month);
    // A conversation started in our workspace, in a channel shared with a partner organisation.
    await h.slash({ channel_id: 'C0IN', user_id: 'U0OURS', command: '/ask', text: 'what is a LoRA?' });
    const parent = await waitFor(
      'the /ask',
      () => h.slack.parents('C0IN').find((m) => m.text.includes('<@U0OURS>') && /Done/.test(m.text)),
      20_000,
    );
    const before = await ours();
    await h.say({
      channelId: 'C0IN',
      threadTs: parent.ts,
      userId: 'U0PARTNER',
      text: 'a question from the partner',
      team: 'T0PARTNER',
      userTeam: 'T0PARTNER',
      authorizations: [{ team_id: TEAM() }],
    });
    const status = await waitFor(
      'the follow-up status',
      () =>
        h.slack.thread('C0IN', parent.ts).find((m) => m.text.includes('<@U0PARTNER>') && /Done/.test(m.text)),
      20_000,
    );
    expect(status.text).toContain('a question from the partner');
    await waitFor(
      'the charge',
      async () =>
        (await h.running.workers!.ledgerView.total('workspace', 'slack:T0PARTNER', 'month', month)) > 0,
    );
    expect(await ours()).toBe(before);
  });
});

describe('Discord: every entry point goes through the one inbound service', () => {
  let h: DiscordHarness;
  let closed: DiscordHarness;
  let seedStatus: FakeMessage;
  const OTHER_CHANNEL = '777777777777777777';
  const threads: Record<'in' | 'out', string> = { in: '', out: '' };

  beforeAll(async () => {
    h = await startDiscordHarness({
      configExtra: (fake) =>
        [...CONFIG, 'access:', `  discord: { channels: ["${fake.channelId}"], dms: true }`].join('\n'),
    });
    // DMs are refused here.
    closed = await startDiscordHarness({
      configExtra: [...CONFIG, 'access:', '  discord: { dms: false }'].join('\n'),
    });
    const { discord } = h;
    const ledger = h.running.workers!.ledgerView;
    for (const userId of [
      '900000000000000001',
      '900000000000000002',
      '900000000000000003',
      '900000000000000004',
      '900000000000000005',
    ])
      await spendBudget(ledger, 'discord', {
        workspaceId: discord.guildId,
        channelId: discord.channelId,
        userId,
      });
    await spendBudget(ledger, 'discord', {
      workspaceId: '',
      channelId: discord.dmChannelId,
      userId: '900000000000000004',
    });
    threads.in = discord.openThread({ parentId: discord.channelId });
    threads.out = discord.openThread({ parentId: OTHER_CHANNEL });
    for (const thread of [threads.in, threads.out]) {
      await seedConversation(h.env.REDIS_URL!, h.config.queue.prefix, {
        platform: 'discord',
        key: `discord:seed-${thread}`,
        aliases: [thread],
        model: 'pricey',
      });
    }
    const asked = discord.sendCommand({
      name: 'flux',
      options: [{ name: 'prompt', type: 3, value: 'seed --n 2 --size 512x512' }],
      userId: '800000000000000001',
    });
    const question = await waitFor('the question', () => ephemeralReplyTo(asked.id));
    const run = discord.buttonsOf(question.id).find((id) => id.startsWith('lorabot:run:'))!;
    const pressed = discord.pressButton({
      messageId: question.id,
      customId: run,
      userId: '800000000000000001',
    });
    seedStatus = await waitFor(
      'the seed status',
      () => {
        const id = discord.interaction(pressed.id)?.originalId;
        return id ? discord.messages.find((m) => m.id === id && m.content.includes('Done')) : undefined;
      },
      20_000,
    );
  });

  afterAll(async () => {
    await h?.close();
    await closed?.close();
  });

  /** The private answer to an interaction, once it says something (a private deferral says nothing yet). */
  function ephemeralReplyTo(interactionId: string, harness = h): FakeMessage | undefined {
    return harness.discord.messages.find(
      (m) => m.interaction_id === interactionId && m.flags === 64 && m.content !== '',
    );
  }

  /** The bot's reply to a message (mentions and DMs are answered in the open). */
  const replyIn = (harness: DiscordHarness, channelId: string, after: number, text: RegExp) =>
    waitFor('the reply', () =>
      harness.discord.messages.slice(after).find((m) => m.channel_id === channelId && text.test(m.content)),
    );

  const expected: Record<Outcome, RegExp> = {
    not_allowed: /lorabot is not enabled here/,
    over_budget: /^Over budget: You have spent \$0\.10 of your daily budget/,
    confirm: /above the \$0\.05 that needs a confirmation\. Run it\?/,
  };

  const command = (value: string, userId: string, channelId?: string) => async () => {
    const sent = h.discord.sendCommand({
      name: 'flux',
      options: [{ name: 'prompt', type: 3, value }],
      userId,
      ...(channelId ? { channelId } : {}),
    });
    return waitFor('the private answer', () => ephemeralReplyTo(sent.id));
  };
  const regenerate = (userId: string, channelId?: string) => async () => {
    const custom = h.discord.buttonsOf(seedStatus.id).find((id) => id.startsWith('lorabot:regenerate:'))!;
    // A status message left in a channel that is no longer allowed.
    const message = channelId
      ? h.discord.botMessage({ channelId, content: seedStatus.content, components: seedStatus.components })
      : seedStatus;
    const pressed = h.discord.pressButton({ messageId: message.id, customId: custom, userId });
    return waitFor('the private answer', () => ephemeralReplyTo(pressed.id));
  };
  const say =
    (
      content: string,
      userId: string,
      where: { channelId?: string; dm?: boolean; harness?: () => DiscordHarness },
    ) =>
    async () => {
      const harness = where.harness?.() ?? h;
      const after = harness.discord.messages.length;
      harness.discord.sendMessage({
        content: where.dm ? content : `<@${harness.discord.botId}> ${content}`,
        mention: !where.dm,
        userId,
        ...(where.channelId ? { channelId: where.channelId } : {}),
        ...(where.dm ? { dm: true } : {}),
      });
      const channel = where.dm ? harness.discord.dmChannelId : (where.channelId ?? harness.discord.channelId);
      return replyIn(harness, channel, after, /not enabled|Over budget|Run it\?/);
    };

  const rows: Array<{
    entry: string;
    kind: string;
    outcome: Outcome;
    act: () => Promise<FakeMessage>;
    harness?: () => DiscordHarness;
  }> = [
    {
      entry: 'slash',
      kind: 'flux',
      outcome: 'not_allowed',
      act: command('a fox', '900000000000000010', OTHER_CHANNEL),
    },
    { entry: 'slash', kind: 'flux', outcome: 'over_budget', act: command('a fox', '900000000000000001') },
    {
      entry: 'slash',
      kind: 'flux',
      outcome: 'confirm',
      act: command('foxes --n 2 --size 512x512', '900000000000000011'),
    },
    {
      entry: 'button',
      kind: 'flux',
      outcome: 'not_allowed',
      act: regenerate('900000000000000012', OTHER_CHANNEL),
    },
    { entry: 'button', kind: 'flux', outcome: 'over_budget', act: regenerate('900000000000000002') },
    { entry: 'button', kind: 'flux', outcome: 'confirm', act: regenerate('900000000000000013') },
    {
      entry: 'mention',
      kind: 'flux',
      outcome: 'not_allowed',
      // A thread counts as its channel: this one's parent is not allowed.
      act: () => say('flux a fox', '900000000000000014', { channelId: threads.out })(),
    },
    {
      entry: 'mention',
      kind: 'flux',
      outcome: 'over_budget',
      act: say('flux a fox', '900000000000000003', {}),
    },
    {
      entry: 'mention',
      kind: 'flux',
      outcome: 'confirm',
      act: say('flux foxes --n 2 --size 512x512', '900000000000000015', {}),
    },
    {
      entry: 'dm',
      kind: 'flux',
      outcome: 'not_allowed',
      harness: () => closed,
      act: say('flux a fox', '900000000000000016', { dm: true, harness: () => closed }),
    },
    {
      entry: 'dm',
      kind: 'flux',
      outcome: 'over_budget',
      act: say('flux a fox', '900000000000000004', { dm: true }),
    },
    {
      entry: 'dm',
      kind: 'flux',
      outcome: 'confirm',
      act: say('flux foxes --n 2 --size 512x512', '900000000000000017', { dm: true }),
    },
    {
      entry: 'thread',
      kind: 'ask',
      outcome: 'not_allowed',
      act: () => say('and then?', '900000000000000018', { channelId: threads.out })(),
    },
    {
      entry: 'thread',
      kind: 'ask',
      outcome: 'over_budget',
      act: () => say('and then?', '900000000000000005', { channelId: threads.in })(),
    },
    {
      entry: 'thread',
      kind: 'ask',
      outcome: 'confirm',
      act: () => say('and then?', '900000000000000019', { channelId: threads.in })(),
    },
  ];

  it.each(rows)(
    '$entry: $outcome is answered, queues nothing and counts {entry="$entry",kind="$kind"}',
    async (row) => {
      const harness = row.harness?.() ?? h;
      const labels = { platform: 'discord', entry: row.entry, kind: row.kind, outcome: row.outcome };
      const before = await commands(harness.running.httpUrl!, labels);
      const calls = harness.together.calls.length;
      const answer = await row.act();
      expect(answer.content).toMatch(expected[row.outcome]);
      if (row.outcome === 'confirm')
        expect(harness.discord.buttonsOf(answer.id).some((id) => id.startsWith('lorabot:run:'))).toBe(true);
      await waitFor(
        'the count',
        async () => (await commands(harness.running.httpUrl!, labels)) === before + 1,
      );
      expect(harness.together.calls.length).toBe(calls);
    },
  );
});

describe('Web: commands and presses on the page go through the one inbound service', () => {
  let d: WebDriver;
  /** A finished image of two ($0.07), run after its confirmation, so Regenerate has a recipe to repeat. */
  let seed: Request;

  beforeAll(async () => {
    d = await startWebDriver(() => [...CONFIG, ...CLOSED].join('\n'));
    const ledger = d.running.workers!.ledgerView;
    for (const name of ['spent1', 'spent2'])
      await spendBudget(ledger, 'web', { workspaceId: 'web', channelId: 'web', userId: `web:${name}` });
    const seeder = await d.user('seeder');
    const asked = await d.command('flux', 'seed --n 2 --size 512x512', { user: seeder });
    await waitFor('the question', () => d.privateAnswers(asked)[0]);
    seed = await d.press(asked, 'run', { user: seeder, from: 'private' });
    await waitFor('the seed image', () => d.status(seed)?.state === 'done', 20_000);
  });

  afterAll(async () => {
    await d?.close();
  });

  const expected: Record<Exclude<Outcome, 'not_allowed'>, (answer: PrivateAnswer) => void> = {
    over_budget: (a) => expect(a.text).toMatch(/^Over budget: You have spent \$0\.10 of your daily budget/),
    confirm: (a) => {
      expect(a.text).toMatch(/above the \$0\.05 that needs a confirmation\. Run it\?/);
      expect(a.buttons.map((b) => b.action)).toEqual(['run', 'dismiss']);
    },
  };
  /** A line typed into the page: `POST /api/commands`. */
  const command = (text: string, name: string) => async () =>
    d.command('flux', text, { user: await d.user(name) });
  /** Regenerate pressed on the seed image: `POST /api/actions`. */
  const regenerate = (name: string) => async () => d.press(seed, 'regenerate', { user: await d.user(name) });

  const rows: Array<{
    entry: string;
    kind: string;
    outcome: 'over_budget' | 'confirm';
    act: () => Promise<Request>;
  }> = [
    { entry: 'command', kind: 'flux', outcome: 'over_budget', act: command('a fox', 'spent1') },
    {
      entry: 'command',
      kind: 'flux',
      outcome: 'confirm',
      act: command('foxes --n 2 --size 512x512', 'new1'),
    },
    { entry: 'button', kind: 'flux', outcome: 'over_budget', act: regenerate('spent2') },
    { entry: 'button', kind: 'flux', outcome: 'confirm', act: regenerate('new2') },
  ];

  it.each(rows)(
    'a $entry: $outcome is answered privately, queues nothing and counts {entry="web",kind="$kind"}',
    async (row) => {
      const labels = { platform: 'web', entry: 'web', kind: row.kind, outcome: row.outcome };
      const before = await commands(d.httpUrl, labels);
      const calls = d.together.calls.length;
      const request = await row.act();
      expected[row.outcome](await waitFor('the private answer', () => d.privateAnswers(request)[0]));
      await waitFor('the count', async () => (await commands(d.httpUrl, labels)) === before + 1);
      expect(d.status(request)).toBeUndefined();
      expect(d.together.calls.length).toBe(calls);
    },
  );

  it('is always allowed (its own login guards it): a command and a press are taken with every chat place closed', async () => {
    const notAllowed = { platform: 'web', entry: 'web', kind: 'flux', outcome: 'not_allowed' };
    const queued = { platform: 'web', entry: 'web', kind: 'flux', outcome: 'queued' };
    const before = await commands(d.httpUrl, queued);
    const user = await d.user('anywhere');
    const typed = await d.command('flux', 'an open fox --size 512x512', { user });
    const done = await waitFor(
      'the image',
      () => (d.status(typed)?.state === 'done' ? d.status(typed) : undefined),
      20_000,
    );
    expect(done.detail).toBe('Cost: $0.035 (1 image × 1 MP × $0.035/MP)');
    // Another person: the first's budget has no room left for the $0.07 Regenerate.
    const pressed = await d.press(seed, 'regenerate', { user: await d.user('anywhere2') });
    expected.confirm(await waitFor('the question', () => d.privateAnswers(pressed)[0]));
    expect(await commands(d.httpUrl, queued)).toBe(before + 1);
    expect(await commands(d.httpUrl, notAllowed)).toBe(0);
  });
});

describe('CLI: `lorabot run` goes through the one inbound service as the operator', () => {
  let together: FakeTogether;
  let env: Record<string, string>;
  const prefix = `{lorabot-test-${randomUUID().slice(0, 8)}}`;
  /** What the runs counted, as a process embedding the CLI would export it. */
  const metrics = new Metrics();
  const count = async (outcome: string) =>
    commandCount((await metrics.render()).body, { platform: 'cli', entry: 'cli', kind: 'flux', outcome });
  const run = (line: string) => runCli(['run', line], env, { telemetry: metrics });
  const prompts = () =>
    together.callsTo('/images/generations').map((c) => (c.body as { prompt: string }).prompt);

  beforeAll(async () => {
    together = await new FakeTogether().start();
    env = {
      REDIS_URL: redisUrl(),
      TOGETHER_API_KEY: together.apiKey,
      TOGETHER_BASE_URL: together.baseUrl,
      LORABOT_CONFIG: writeTestConfig(prefix, [...CONFIG, ...CLOSED].join('\n')),
      LOG_LEVEL: 'silent',
    };
  });

  afterAll(async () => {
    await together?.close();
    const redis = new Redis(redisUrl());
    await deleteByPrefix(redis, prefix);
    redis.disconnect();
  });

  it('is always allowed and never asks Run / Cancel: a request above the threshold runs at once, counted as queued', async () => {
    // $0.07 is above the $0.05 that asks everywhere else; Slack and Discord are closed everywhere.
    const ran = await run('/flux two foxes --n 2 --size 512x512');
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stdout).toMatch(/^Cost: \$0\.07 \(2 images × 1 MP × \$0\.035\/MP\)$/m);
    expect(`${ran.stdout}${ran.stderr}`).not.toMatch(/Run it\?|not enabled here/);
    expect(prompts()).toContain('two foxes');
    expect(await count('queued')).toBe(1);
    expect(await count('confirm')).toBe(0);
    expect(await count('not_allowed')).toBe(0);
  });

  it("refuses a request past the operator's daily budget with exit 2, queues nothing and counts over_budget", async () => {
    const calls = together.calls.length;
    const refused = await run('/flux two owls --n 2 --size 512x512');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /^Over budget: You have spent \$0\.07 of your daily budget of \$0\.10, and this request may cost \$0\.07\./m,
    );
    expect(together.calls.length).toBe(calls);
    expect(prompts()).not.toContain('two owls');
    expect(await count('over_budget')).toBe(1);
    expect(await count('queued')).toBe(1);
  });
});
