import {
  type AutocompleteInteraction,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  Client,
  Events,
  GatewayIntentBits,
  type Message,
  MessageFlags,
  Partials,
  REST,
  Routes,
} from 'discord.js';
import { type CommandPlan, jobData } from '../../app/command-plan.js';
import {
  budgetRefusal,
  CONFIRM_TTL_SECONDS,
  cancelFor,
  confirmQuestion,
  detailsFor,
  followUp,
  type InteractionDeps,
  infoText,
  listJobs,
  notifySetting,
  pendingRun,
  planForPlatform,
  regeneration,
} from '../../app/intake.js';
import { isAllowed, NOT_ENABLED_HERE, type Place } from '../../core/access.js';
import type { Requester } from '../../core/budget.js';
import type { ParseResult } from '../../core/command-parser.js';
import { parseCommand } from '../../core/command-parser.js';
import { ASK_HELP, FLUX_HELP } from '../../core/help-text.js';
import { type DiscordTarget, jobView } from '../../core/jobs.js';
import type { Logger } from '../../core/ports.js';
import type { AcceptedCommand } from '../../core/requests.js';
import type { CoreSettings } from '../../core/settings.js';
import { commandDefinitions, commandText, presetChoices } from './command-definitions.js';
import { discordRestOptions } from './discord-deliverer.js';
import {
  buttonRow,
  codeSpan,
  NO_MENTIONS,
  parseButtonId,
  statusComponents,
  statusContent,
} from './discord-format.js';

export interface DiscordBotOptions extends InteractionDeps {
  token: string;
  applicationId: string;
  apiUrl: string;
  logger: Logger;
}

const NOT_QUEUED = 'lorabot could not queue this request. Nothing was queued or charged. Try again shortly.';
const DEFAULT_ATTACHMENT_LIMIT = 10 * 1024 * 1024;
const TOKEN_LIFETIME_MS = 15 * 60_000;
const UNAVAILABLE =
  "lorabot can't take requests right now: its queue is unreachable. Nothing was queued or charged. Try again shortly.";

/** An interaction that can start a job: a slash command, or a Run or Regenerate button. */
type StartingInteraction = ChatInputCommandInteraction | ButtonInteraction;

/**
 * The Discord side of the gateway: `/flux` and `/ask` application commands, their buttons, and mentions
 * (`@lorabot flux …`, `@lorabot ask …`, `@lorabot <question>`), DMs and replies that continue a conversation.
 * Intents are Guilds, GuildMessages and DirectMessages: content that mentions the bot, and DMs, arrive without
 * the privileged MessageContent intent.
 */
export class DiscordBot {
  readonly client: Client;
  private readonly now: () => number;

  constructor(private readonly options: DiscordBotOptions) {
    this.now = options.now;
    this.client = new Client({
      intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.DirectMessages],
      partials: [Partials.Channel],
      allowedMentions: { parse: [], repliedUser: false },
      rest: discordRestOptions(options.apiUrl),
    });
    this.client.on(Events.InteractionCreate, (interaction) => {
      if (interaction.isAutocomplete()) {
        const focused = interaction.options.getFocused(true);
        const choices = focused.name.startsWith('lora')
          ? presetChoices(this.options.settings, String(focused.value), this.placeOf(interaction))
          : [];
        interaction.respond(choices).catch((error: unknown) => this.logError('autocomplete', error));
        return;
      }
      if (interaction.isButton()) {
        this.onButton(interaction).catch((error: unknown) => this.logError('button', error));
        return;
      }
      if (!interaction.isChatInputCommand()) return;
      this.onCommand(interaction).catch((error: unknown) => this.logError('interaction', error));
    });
    this.client.on(Events.MessageCreate, (message) => {
      this.onMessage(message).catch((error: unknown) => this.logError('message', error));
    });
    this.client.on(Events.Error, (error) => this.logError('client', error));
  }

  async start(): Promise<void> {
    await this.client.login(this.options.token);
  }

  async stop(): Promise<void> {
    await this.client.destroy();
  }

  private async onCommand(interaction: ChatInputCommandInteraction): Promise<void> {
    const name = interaction.commandName;
    if (name !== 'flux' && name !== 'ask') return;
    const place = this.placeOf(interaction);
    if (!isAllowed(this.options.access, place)) {
      await interaction.reply({ content: NOT_ENABLED_HERE, flags: MessageFlags.Ephemeral });
      return;
    }
    const options = new Map<string, string | number>();
    for (const option of interaction.options.data) {
      if (option.value !== undefined) options.set(option.name, option.value as string | number);
    }
    const text = commandText(name, options);
    const parsed = parseCommand(name, text, this.options.settings, place);
    const requester = this.requesterOf(interaction);
    if (!parsed.success || (parsed.data.kind !== 'flux' && parsed.data.kind !== 'ask')) {
      this.count(name, parsed.success ? parsed.data.kind : 'user_error');
      if (parsed.success && parsed.data.kind === 'info' && parsed.data.topic === 'jobs') {
        await interaction.reply({ ...(await this.jobsReply(requester)), flags: MessageFlags.Ephemeral });
        return;
      }
      const content = await this.immediateAnswer(parsed, requester, place, name);
      await interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
      return;
    }
    const requestKey = `discord-${interaction.id}`;
    try {
      const { command, plan } = planForPlatform(parsed.data, this.options);
      const refusal = await budgetRefusal(plan.estimate.micros, requester, this.options);
      if (refusal) {
        await interaction.reply({
          content: refusal,
          flags: MessageFlags.Ephemeral,
          allowedMentions: NO_MENTIONS,
        });
        return;
      }
      const question = confirmQuestion(plan, this.options);
      if (question) {
        await this.options.state.putPending(
          requestKey,
          { requester, place, kind: name, text },
          CONFIRM_TTL_SECONDS,
        );
        await interaction.reply({
          content: `${question}\n${codeSpan(plan.command, 1500)}`,
          components: [
            buttonRow([
              { label: 'Run', action: 'run', value: requestKey, style: 'primary' },
              { label: 'Cancel', action: 'dismiss', value: requestKey },
            ]),
          ],
          flags: MessageFlags.Ephemeral,
          allowedMentions: NO_MENTIONS,
        });
        return;
      }
      await this.launchFromInteraction(interaction, requester, command, plan, requestKey);
    } catch (error) {
      this.logError('command', error);
      if (!interaction.replied && !interaction.deferred) {
        await interaction
          .reply({ content: UNAVAILABLE, flags: MessageFlags.Ephemeral })
          .catch(() => undefined);
      }
    }
  }

  /**
   * Claims the request, defers (the 3-second deadline), shows the status as the interaction's response and queues
   * the job with the interaction's token, which the worker uses for 15 minutes.
   */
  private async launchFromInteraction(
    interaction: StartingInteraction,
    requester: Requester,
    command: AcceptedCommand,
    plan: CommandPlan,
    requestKey: string,
  ): Promise<void> {
    let claimed: boolean;
    try {
      claimed = await this.options.queue.claim(requestKey);
    } catch {
      await interaction.reply({ content: UNAVAILABLE, flags: MessageFlags.Ephemeral });
      return;
    }
    if (!claimed) return;
    await interaction.deferReply();
    const view = { jobId: requestKey, kind: plan.kind, command: plan.command };
    try {
      const position = await this.options.queue.position(plan.kind);
      const reply = await interaction.editReply({
        content: statusContent(requester.userId, view, { state: 'queued', position }),
        components: statusComponents(view, { state: 'queued', position }),
        allowedMentions: NO_MENTIONS,
      });
      const target: DiscordTarget = {
        platform: 'discord',
        guildId: requester.workspaceId,
        channelId: interaction.channelId ?? requester.channelId,
        userId: requester.userId,
        statusMessageId: reply.id,
        resultChannelId: interaction.channelId ?? requester.channelId,
        interaction: {
          applicationId: interaction.applicationId,
          token: interaction.token,
          expiresAt: interaction.createdTimestamp + TOKEN_LIFETIME_MS,
        },
        attachmentLimit: interaction.attachmentSizeLimit ?? DEFAULT_ATTACHMENT_LIMIT,
      };
      const data = jobData(command, plan, target, this.now());
      if (data.kind === 'ask') data.conversation = { key: `discord:${reply.id}`, aliases: [] };
      await this.options.queue.enqueue(requestKey, data);
      this.count(command.kind, 'queued');
      if (command.notices.length > 0) {
        // Queued already: a failure to tell the notice must not undo that.
        await interaction
          .followUp({
            content: command.notices.join('\n'),
            flags: MessageFlags.Ephemeral,
            allowedMentions: NO_MENTIONS,
          })
          .catch(() => undefined);
      }
    } catch (error) {
      this.logError('enqueue', error);
      await this.options.queue.release(requestKey).catch(() => undefined);
      await interaction
        .editReply({ content: NOT_QUEUED, components: [], allowedMentions: NO_MENTIONS })
        .catch(() => undefined);
    }
  }

  /** Cancel, Regenerate and Details on status messages; Run and Cancel on a confirmation. */
  private async onButton(interaction: ButtonInteraction): Promise<void> {
    const button = parseButtonId(interaction.customId);
    if (!button) return;
    const requester = this.requesterOf(interaction);
    const tell = (content: string) =>
      interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
    if (!isAllowed(this.options.access, this.placeOf(interaction))) {
      await tell(NOT_ENABLED_HERE);
      return;
    }
    this.count('button', button.action);
    try {
      switch (button.action) {
        case 'cancel': {
          const result = await cancelFor(button.value, requester.userId, this.options);
          // Answer first (the 3-second deadline); the status edit goes through the REST queue after.
          await tell(result.text);
          const removed = result.removed;
          if (removed?.target.platform === 'discord') {
            // Removed before a worker saw it: the status is ours to set.
            const view = jobView(button.value, removed);
            const status = { state: 'cancelled', by: requester.userId } as const;
            await this.client.rest.patch(
              Routes.channelMessage(removed.target.channelId, removed.target.statusMessageId),
              {
                body: {
                  content: statusContent(removed.target.userId, view, status),
                  components: [],
                  allowed_mentions: NO_MENTIONS,
                },
              },
            );
          }
          return;
        }
        case 'details':
          await tell(await detailsFor(button.value, this.options));
          return;
        case 'regenerate': {
          const again = await regeneration(button.value, this.options);
          if (typeof again === 'string') return void (await tell(again));
          const refusal = await budgetRefusal(again.plan.estimate.micros, requester, this.options);
          if (refusal) return void (await tell(refusal));
          await this.launchFromInteraction(
            interaction,
            requester,
            again.command,
            again.plan,
            `discord-${interaction.id}`,
          );
          return;
        }
        case 'run': {
          const run = await pendingRun(button.value, requester.userId, this.options);
          if (!run.ok) return void (await tell(run.message));
          await this.launchFromInteraction(
            interaction,
            run.pending.requester,
            run.command,
            run.plan,
            button.value,
          );
          return;
        }
        case 'dismiss':
          await this.options.state.takePending(button.value);
          await interaction.update({ content: 'Cancelled. Nothing was queued or charged.', components: [] });
          return;
      }
    } catch (error) {
      this.logError('button', error);
      if (!interaction.replied && !interaction.deferred) await tell(UNAVAILABLE).catch(() => undefined);
    }
  }

  private async onMessage(message: Message): Promise<void> {
    const me = this.client.user;
    if (!me || message.author.bot) return;
    const isDm = message.guildId === null;
    if (!isDm && !message.mentions.users.has(me.id)) return;
    const parentChannelId = message.channel.isThread() ? message.channel.parentId : null;
    const place: Place = {
      platform: 'discord' as const,
      guildId: message.guildId ?? '',
      channelId: message.channelId,
      ...(parentChannelId ? { parentChannelId } : {}),
    };
    if (!isAllowed(this.options.access, place)) {
      await message.reply({ content: NOT_ENABLED_HERE, allowedMentions: NO_MENTIONS });
      return;
    }
    const text = message.content.replace(new RegExp(`<@!?${me.id}>`, 'g'), ' ').trim();
    const parsed = parseMention(text, this.options.settings, place);
    const requester = {
      platform: 'discord' as const,
      workspaceId: message.guildId ?? '',
      channelId: message.channelId,
      userId: message.author.id,
    };
    if (!parsed.success || (parsed.data.kind !== 'flux' && parsed.data.kind !== 'ask')) {
      this.count('mention', parsed.success ? parsed.data.kind : 'user_error');
      if (parsed.success && parsed.data.kind === 'info' && parsed.data.topic === 'jobs') {
        await message.reply(await this.jobsReply(requester));
        return;
      }
      const content = await this.immediateAnswer(parsed, requester, place, 'flux');
      await message.reply({ content, allowedMentions: NO_MENTIONS });
      return;
    }
    const requestKey = `discord-msg-${message.id}`;
    try {
      // A plain question in a conversation's thread, or in reply to one of its messages, continues it.
      const accepted = parsed.data;
      const conversation =
        accepted.kind === 'ask' && !/^\/?ask\b/i.test(text) ? await this.conversationOf(message) : undefined;
      const followed =
        conversation && accepted.kind === 'ask'
          ? await followUp(conversation, accepted.request.question, message.author.id, this.options)
          : undefined;
      const { command, plan } = followed ?? planForPlatform(accepted, this.options);
      const refusal = await budgetRefusal(plan.estimate.micros, requester, this.options);
      if (refusal) {
        await message.reply({ content: refusal, allowedMentions: NO_MENTIONS });
        return;
      }
      await this.launchFromMessage(message, command, plan, requestKey, {
        isDm,
        ...(conversation && followed ? { conversation: { key: conversation, note: followed.note } } : {}),
      });
    } catch (error) {
      this.logError('enqueue', error);
      await message.reply({ content: NOT_QUEUED, allowedMentions: NO_MENTIONS }).catch(() => undefined);
    }
  }

  /** The conversation a message continues: the one its reply points at, or its thread's. */
  private async conversationOf(message: Message): Promise<string | undefined> {
    const state = this.options.state;
    const replied = message.reference?.messageId;
    const byReply = replied ? await state.findConversation('discord', replied) : undefined;
    if (byReply) return byReply;
    return message.channel.isThread() ? state.findConversation('discord', message.channelId) : undefined;
  }

  /**
   * Claims the message, replies with the status (a thread on it carries the results in a server channel), and
   * queues the job; a status reply whose job could not be queued says so.
   */
  private async launchFromMessage(
    message: Message,
    command: AcceptedCommand,
    plan: CommandPlan,
    requestKey: string,
    where: { isDm: boolean; conversation?: { key: string; note: string } },
  ): Promise<void> {
    let claimed = false;
    let statusReply: Message | undefined;
    const view = {
      jobId: requestKey,
      kind: plan.kind,
      command: plan.command,
      ...(where.conversation ? { context: where.conversation.note } : {}),
    };
    try {
      claimed = await this.options.queue.claim(requestKey);
      if (!claimed) return;
      const position = await this.options.queue.position(plan.kind);
      const reply = await message.reply({
        content: statusContent(message.author.id, view, { state: 'queued', position }),
        components: statusComponents(view, { state: 'queued', position }),
        allowedMentions: NO_MENTIONS,
      });
      statusReply = reply;
      let resultChannelId = message.channelId;
      if (!where.isDm && reply.channel.isTextBased() && !reply.channel.isThread()) {
        const thread = await reply.startThread({ name: threadName(plan.command), autoArchiveDuration: 1440 });
        resultChannelId = thread.id;
      }
      const target: DiscordTarget = {
        platform: 'discord',
        guildId: message.guildId ?? '',
        channelId: message.channelId,
        userId: message.author.id,
        statusMessageId: reply.id,
        resultChannelId,
        attachmentLimit: DEFAULT_ATTACHMENT_LIMIT,
      };
      const data = jobData(command, plan, target, this.now());
      if (where.conversation) data.context = where.conversation.note;
      if (data.kind === 'ask') {
        data.conversation = where.conversation
          ? { key: where.conversation.key, aliases: [reply.id] }
          : { key: `discord:${reply.id}`, aliases: [] };
      }
      await this.options.queue.enqueue(requestKey, data);
      this.count(command.kind, 'queued');
      if (command.notices.length > 0) {
        // Queued already: a failure to tell the notice must not undo that.
        await message
          .reply({ content: command.notices.join('\n'), allowedMentions: NO_MENTIONS })
          .catch(() => undefined);
      }
    } catch (error) {
      this.logError('enqueue', error);
      if (claimed) await this.options.queue.release(requestKey).catch(() => undefined);
      // Leave nothing half-done: the status reply says it was not queued, instead of "Queued" forever.
      const shown = statusReply
        ? statusReply.edit({ content: `❌ ${NOT_QUEUED}`, components: [], allowedMentions: NO_MENTIONS })
        : message.reply({ content: NOT_QUEUED, allowedMentions: NO_MENTIONS });
      await shown.catch(() => undefined);
    }
  }

  /** `/flux jobs`: the requester's jobs, each with a Cancel button (5 rows of buttons at most). */
  private async jobsReply(requester: Requester) {
    const { jobs, lines, empty } = await listJobs(requester, this.options).catch(() => ({
      jobs: [],
      lines: [],
      empty: UNAVAILABLE,
    }));
    if (empty) return { content: empty, allowedMentions: NO_MENTIONS };
    const shown = jobs.slice(0, 5);
    return {
      content: ['Your jobs:', ...shown.map((_, i) => `${i + 1}. ${codeSpan(lines[i]!, 300)}`)].join('\n'),
      components: shown.map((job, i) =>
        buttonRow([{ label: `Cancel ${i + 1}`, action: 'cancel', value: job.jobId, style: 'danger' }]),
      ),
      allowedMentions: NO_MENTIONS,
    };
  }

  private placeOf(interaction: StartingInteraction | AutocompleteInteraction): Place {
    const parentChannelId = interaction.channel?.isThread() ? interaction.channel.parentId : null;
    return {
      platform: 'discord' as const,
      guildId: interaction.guildId ?? '',
      channelId: interaction.channelId ?? '',
      ...(parentChannelId ? { parentChannelId } : {}),
    };
  }

  private requesterOf(interaction: StartingInteraction): Requester {
    return {
      platform: 'discord',
      workspaceId: interaction.guildId ?? '',
      channelId: interaction.channelId ?? '',
      userId: interaction.user.id,
    };
  }

  /** What to answer at once instead of queueing: a user error, help, a subcommand, or a setting. */
  private async immediateAnswer(
    parsed: ParseResult,
    requester: Requester,
    place: Place,
    fallbackTopic: 'flux' | 'ask',
  ): Promise<string> {
    if (!parsed.success) return parsed.error.message;
    const command = parsed.data;
    if (command.kind === 'info')
      return infoText(command.topic, requester, place, this.options).catch(() => UNAVAILABLE);
    if (command.kind === 'notify')
      return notifySetting(command.mode, requester, this.options).catch(() => UNAVAILABLE);
    const topic = command.kind === 'help' ? command.topic : fallbackTopic;
    return topic === 'ask' ? ASK_HELP : FLUX_HELP;
  }

  private count(kind: string, outcome: string): void {
    this.options.telemetry?.command('discord', kind, outcome);
  }

  private logError(where: string, error: unknown): void {
    this.options.logger.error(
      { component: 'discord', where, err: error instanceof Error ? error.message : String(error) },
      'discord handler failed',
    );
  }
}

/** `flux …`, `ask …`, `help`, or anything else as a question. */
export function parseMention(text: string, settings: CoreSettings, place?: Place): ParseResult {
  const match = /^\/?(flux|ask)\b\s*([\s\S]*)$/i.exec(text);
  if (match) return parseCommand(match[1]!.toLowerCase() as 'flux' | 'ask', match[2] ?? '', settings, place);
  if (/^help$/i.test(text)) return parseCommand('flux', 'help', settings);
  return parseCommand('ask', text, settings);
}

function threadName(command: string): string {
  const name = command.replace(/\s+/g, ' ').trim();
  return name.length > 90 ? `${name.slice(0, 89)}…` : name;
}

/** `lorabot register-commands [--guild ID]`: bulk-overwrites the application commands. */
export async function registerCommands(options: {
  token: string;
  applicationId: string;
  apiUrl: string;
  settings: CoreSettings;
  guildId?: string;
}): Promise<number> {
  const rest = new REST(discordRestOptions(options.apiUrl)).setToken(options.token);
  const route = options.guildId
    ? Routes.applicationGuildCommands(options.applicationId, options.guildId)
    : Routes.applicationCommands(options.applicationId);
  const result = (await rest.put(route, { body: commandDefinitions(options.settings) })) as unknown[];
  return result.length;
}
