import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeDiscord, snowflake } from '../contract/fakes/fake-discord.js';
import { type Harness, startHarness } from '../helpers/lorabot-harness.js';
import { waitFor } from '../helpers/wait.js';

/**
 * One `lorabot start` (gateway and worker in one process) with Slack and Discord on the fakes: a gateway event
 * that discord.js cannot handle is logged with its kind and dropped, and nothing else stops.
 */
let discord: FakeDiscord;
let harness: Harness;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
  discord = await new FakeDiscord().start();
  harness = await startHarness({
    env: {
      DISCORD_TOKEN: discord.token,
      DISCORD_APPLICATION_ID: discord.applicationId,
      DISCORD_API_URL: discord.apiUrl,
    },
  });
  await discord.ready;
  await waitFor('discord.js to be ready', () => harness.running.discord?.client.isReady());
}, 60_000);

afterAll(async () => {
  await harness.close();
  await discord.close();
  process.off('unhandledRejection', onUnhandled);
  process.off('uncaughtException', onUnhandled);
});

/**
 * The interaction object example of Discord's "Receiving and Responding" page, as published: no `entitlements`,
 * `authorizing_integration_owners`, `context` or `application_id`. Only the ids of the guild and channel are the
 * fake's, and the command is lorabot's `/flux`.
 * @see https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object-example
 */
function documentedExample(id: string) {
  return {
    type: 2,
    token: 'A_UNIQUE_TOKEN',
    member: {
      user: {
        id: '53908232506183680',
        username: 'Mason',
        avatar: 'a_d5efa99b3eeaa7dd43acca82f5692432',
        discriminator: '1337',
        public_flags: 131141,
      },
      roles: ['539082325061836999'],
      premium_since: null,
      permissions: '2147483647',
      pending: false,
      nick: null,
      mute: false,
      joined_at: '2017-03-13T19:19:14.040000+00:00',
      is_pending: false,
      deaf: false,
    },
    id,
    guild_id: discord.guildId,
    app_permissions: '442368',
    guild_locale: 'en-US',
    locale: 'en-US',
    data: {
      options: [{ type: 3, name: 'prompt', value: 'The Gitrog Monster' }],
      type: 1,
      name: 'flux',
      id: '771825006014889984',
    },
    channel_id: discord.channelId,
  };
}

describe('a failure in one adapter is contained', () => {
  it("Discord's documented example interaction is logged with its kind and dropped; Discord, Slack and the worker carry on", async () => {
    const id = snowflake();
    discord.sendRawInteraction(documentedExample(id));
    const failure = () =>
      harness.logs.find((line) => line.includes('INTERACTION_CREATE') && line.includes(id));
    await waitFor('the failure to be logged', failure, 10_000);
    expect(JSON.parse(failure()!)).toMatchObject({
      level: 50,
      component: 'discord',
      event: 'INTERACTION_CREATE',
      id,
      msg: 'discord.js could not handle a gateway event; it was dropped',
    });

    // The next interaction is served, end to end through the worker.
    const next = discord.sendCommand({
      name: 'flux',
      options: [{ name: 'prompt', type: 3, value: 'after the bad packet --size 256x256' }],
    });
    await waitFor(
      'the next interaction to be deferred',
      () => discord.interaction(next.id)?.responded,
      10_000,
    );
    await waitFor(
      'its image',
      () => discord.answersTo(next.id).some((m) => m.attachments.length > 0),
      30_000,
    );

    // Slack, in the same process, still takes commands.
    const slash = await harness.slash({
      command: '/flux',
      text: 'slack after the bad packet --size 256x256',
    });
    expect(slash.status).toBe(200);
    await waitFor('the Slack image', () => harness.slack.files.length > 0, 30_000);

    expect(harness.running.discord!.client.isReady()).toBe(true);
    expect(unhandled.map((u) => (u instanceof Error ? u.stack : String(u)))).toEqual([]);
  }, 90_000);

  it('a Discord connection closed for good is restarted with backoff while Slack and the worker carry on', async () => {
    const bot = harness.running.discord!;
    const before = {
      client: bot.client,
      identifies: discord.identifies,
      slackFiles: harness.slack.files.length,
    };
    const closedAt = performance.now();
    // 4004 (authentication failed) is a close discord.js does not recover from by itself.
    discord.closeGateway(4004, 'Authentication failed.');
    const lost = () => harness.logs.find((line) => line.includes('discord connection lost for good'));
    await waitFor('the restart to be planned', lost, 10_000);
    expect(JSON.parse(lost()!)).toMatchObject({
      level: 40,
      reason: 'gateway closed with 4004',
      delayMs: 1000,
    });

    // Slack is served while Discord is away.
    const slash = await harness.slash({
      command: '/flux',
      text: 'slack while discord restarts --size 256x256',
    });
    expect(slash.status).toBe(200);
    await waitFor('the Slack image', () => harness.slack.files.length > before.slackFiles, 30_000);

    await waitFor(
      'a new Discord client, ready',
      () => bot.client !== before.client && bot.client.isReady() && discord.identifies > before.identifies,
      20_000,
    );
    const readyMs = performance.now() - closedAt;
    console.info(`Discord closed with 4004: a new client was ready ${Math.round(readyMs)} ms later`);
    const next = discord.sendCommand({
      name: 'flux',
      options: [{ name: 'prompt', type: 3, value: 'after the restart --size 256x256' }],
    });
    await waitFor(
      'its image',
      () => discord.answersTo(next.id).some((m) => m.attachments.length > 0),
      30_000,
    );

    // Failing again before the connection held a minute: the next restart waits twice as long.
    const second = bot.client;
    discord.closeGateway(4004, 'Authentication failed.');
    const again = () =>
      harness.logs.filter((line) => line.includes('discord connection lost for good')).at(1);
    await waitFor('the second restart to be planned', again, 10_000);
    expect(JSON.parse(again()!)).toMatchObject({ delayMs: 2000, restart: 2 });
    await waitFor('the third client, ready', () => bot.client !== second && bot.client.isReady(), 20_000);
    expect(unhandled).toEqual([]);
  }, 90_000);
});
