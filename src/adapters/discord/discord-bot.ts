import {
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
import { jobData, planCommand } from '../../command-plan.js';
import { type AccessRules, isAllowed, NOT_ENABLED_HERE } from '../../core/access.js';
import type { Requester } from '../../core/budget.js';
import type { ParseResult } from '../../core/command-parser.js';
import { parseCommand } from '../../core/command-parser.js';
import { ASK_HELP, FLUX_HELP } from '../../core/help-text.js';
import type { DiscordTarget, JobQueue } from '../../core/jobs.js';
import type { Logger } from '../../core/ports.js';
import type { CoreSettings } from '../../core/settings.js';
import { budgetRefusal, type IntakeDeps, infoText } from '../../intake.js';
import { commandDefinitions, commandText, presetChoices } from './command-definitions.js';
import { NO_MENTIONS, statusContent } from './discord-format.js';

export interface DiscordBotOptions extends IntakeDeps {
  token: string;
  applicationId: string;
  apiUrl: string;
  access: AccessRules;
  queue: JobQueue;
  logger: Logger;
}

const NOT_QUEUED = 'lorabot could not queue this request. Nothing was queued or charged. Try again shortly.';
const DEFAULT_ATTACHMENT_LIMIT = 10 * 1024 * 1024;
const TOKEN_LIFETIME_MS = 15 * 60_000;
const UNAVAILABLE =
  "lorabot can't take requests right now: its queue is unreachable. Nothing was queued or charged. Try again shortly.";

/**
 * The Discord side of the gateway: `/flux` and `/ask` application commands, and mentions (`@lorabot flux …`,
 * `@lorabot ask …`, `@lorabot <question>`) and DMs. Intents are Guilds, GuildMessages and DirectMessages: content
 * that mentions the bot, and DMs, arrive without the privileged MessageContent intent.
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
      rest: { api: options.apiUrl.replace(/\/+$/, '') },
    });
    this.client.on(Events.InteractionCreate, (interaction) => {
      if (interaction.isAutocomplete()) {
        const focused = interaction.options.getFocused(true);
        const choices = focused.name.startsWith('lora')
          ? presetChoices(this.options.settings, String(focused.value))
          : [];
        interaction.respond(choices).catch((error: unknown) => this.logError('autocomplete', error));
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
    const parentChannelId = interaction.channel?.isThread() ? interaction.channel.parentId : null;
    const place = {
      platform: 'discord' as const,
      guildId: interaction.guildId ?? '',
      channelId: interaction.channelId,
      ...(parentChannelId ? { parentChannelId } : {}),
    };
    if (!isAllowed(this.options.access, place)) {
      await interaction.reply({ content: NOT_ENABLED_HERE, flags: MessageFlags.Ephemeral });
      return;
    }
    const options = new Map<string, string | number>();
    for (const option of interaction.options.data) {
      if (option.value !== undefined) options.set(option.name, option.value as string | number);
    }
    const parsed = parseCommand(name, commandText(name, options), this.options.settings);
    const requester = {
      platform: 'discord' as const,
      workspaceId: interaction.guildId ?? '',
      channelId: interaction.channelId,
      userId: interaction.user.id,
    };
    if (!parsed.success || parsed.data.kind === 'help' || parsed.data.kind === 'info') {
      this.count(name, parsed.success ? parsed.data.kind : 'user_error');
      const content = await this.immediateAnswer(parsed, requester, name);
      await interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
      return;
    }
    const accepted = parsed.data;
    const plan = planCommand(accepted, this.options.settings);
    const requestKey = `discord-${interaction.id}`;
    let claimed: boolean;
    try {
      const refusal = await budgetRefusal(plan.estimate.micros, requester, this.options);
      if (refusal) {
        await interaction.reply({
          content: refusal,
          flags: MessageFlags.Ephemeral,
          allowedMentions: NO_MENTIONS,
        });
        return;
      }
      claimed = await this.options.queue.claim(requestKey);
    } catch {
      await interaction.reply({ content: UNAVAILABLE, flags: MessageFlags.Ephemeral });
      return;
    }
    if (!claimed) return;
    // The 3-second deadline: defer first, then do the rest against the 15-minute token.
    await interaction.deferReply();
    try {
      const position = await this.options.queue.position(plan.kind);
      const reply = await interaction.editReply({
        content: statusContent(interaction.user.id, plan.command, { state: 'queued', position }),
        allowedMentions: NO_MENTIONS,
      });
      const target: DiscordTarget = {
        platform: 'discord',
        guildId: interaction.guildId ?? '',
        channelId: interaction.channelId,
        userId: interaction.user.id,
        statusMessageId: reply.id,
        resultChannelId: interaction.channelId,
        interaction: {
          applicationId: interaction.applicationId,
          token: interaction.token,
          expiresAt: interaction.createdTimestamp + TOKEN_LIFETIME_MS,
        },
        attachmentLimit: interaction.attachmentSizeLimit ?? DEFAULT_ATTACHMENT_LIMIT,
      };
      await this.options.queue.enqueue(requestKey, jobData(accepted, plan, target, this.now()));
      this.count(accepted.kind, 'queued');
      if (accepted.notices.length > 0) {
        // Queued already: a failure to tell the notice must not undo that.
        await interaction
          .followUp({
            content: accepted.notices.join('\n'),
            flags: MessageFlags.Ephemeral,
            allowedMentions: NO_MENTIONS,
          })
          .catch(() => undefined);
      }
    } catch (error) {
      this.logError('enqueue', error);
      await this.options.queue.release(requestKey).catch(() => undefined);
      await interaction
        .editReply({ content: NOT_QUEUED, allowedMentions: NO_MENTIONS })
        .catch(() => undefined);
    }
  }

  private async onMessage(message: Message): Promise<void> {
    const me = this.client.user;
    if (!me || message.author.bot) return;
    const isDm = message.guildId === null;
    if (!isDm && !message.mentions.users.has(me.id)) return;
    const parentChannelId = message.channel.isThread() ? message.channel.parentId : null;
    const place = {
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
    const parsed = parseMention(text, this.options.settings);
    const requester = {
      platform: 'discord' as const,
      workspaceId: message.guildId ?? '',
      channelId: message.channelId,
      userId: message.author.id,
    };
    if (!parsed.success || parsed.data.kind === 'help' || parsed.data.kind === 'info') {
      this.count('mention', parsed.success ? parsed.data.kind : 'user_error');
      const content = await this.immediateAnswer(parsed, requester, 'flux');
      await message.reply({ content, allowedMentions: NO_MENTIONS });
      return;
    }
    const accepted = parsed.data;
    const plan = planCommand(accepted, this.options.settings);
    const requestKey = `discord-msg-${message.id}`;
    let claimed = false;
    let statusReply: Message | undefined;
    try {
      const refusal = await budgetRefusal(plan.estimate.micros, requester, this.options);
      if (refusal) {
        await message.reply({ content: refusal, allowedMentions: NO_MENTIONS });
        return;
      }
      claimed = await this.options.queue.claim(requestKey);
      if (!claimed) return;
      const position = await this.options.queue.position(plan.kind);
      const reply = await message.reply({
        content: statusContent(message.author.id, plan.command, { state: 'queued', position }),
        allowedMentions: NO_MENTIONS,
      });
      statusReply = reply;
      let resultChannelId = message.channelId;
      if (!isDm && reply.channel.isTextBased() && !reply.channel.isThread()) {
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
      await this.options.queue.enqueue(requestKey, jobData(accepted, plan, target, this.now()));
      this.count(accepted.kind, 'queued');
      if (accepted.notices.length > 0) {
        // Queued already: a failure to tell the notice must not undo that.
        await message
          .reply({ content: accepted.notices.join('\n'), allowedMentions: NO_MENTIONS })
          .catch(() => undefined);
      }
    } catch (error) {
      this.logError('enqueue', error);
      if (claimed) await this.options.queue.release(requestKey).catch(() => undefined);
      // Leave nothing half-done: the status reply says it was not queued, instead of "Queued" forever.
      const shown = statusReply
        ? statusReply.edit({ content: `❌ ${NOT_QUEUED}`, allowedMentions: NO_MENTIONS })
        : message.reply({ content: NOT_QUEUED, allowedMentions: NO_MENTIONS });
      await shown.catch(() => undefined);
    }
  }

  /** What to answer at once instead of queueing: a user error, help, or a subcommand (presets, models, usage). */
  private async immediateAnswer(
    parsed: ParseResult,
    requester: Requester,
    fallbackTopic: 'flux' | 'ask',
  ): Promise<string> {
    if (!parsed.success) return parsed.error.message;
    const command = parsed.data;
    if (command.kind === 'info')
      return infoText(command.topic, requester, this.options).catch(() => UNAVAILABLE);
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
export function parseMention(text: string, settings: CoreSettings): ParseResult {
  const match = /^\/?(flux|ask)\b\s*([\s\S]*)$/i.exec(text);
  if (match) return parseCommand(match[1]!.toLowerCase() as 'flux' | 'ask', match[2] ?? '', settings);
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
  const rest = new REST({ api: options.apiUrl.replace(/\/+$/, ''), version: '10' }).setToken(options.token);
  const route = options.guildId
    ? Routes.applicationGuildCommands(options.applicationId, options.guildId)
    : Routes.applicationCommands(options.applicationId);
  const result = (await rest.put(route, { body: commandDefinitions(options.settings) })) as unknown[];
  return result.length;
}
