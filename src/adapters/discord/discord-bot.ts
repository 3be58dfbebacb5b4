import {
  type AutocompleteInteraction,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  Client,
  Events,
  GatewayIntentBits,
  type Message,
  type MessageContextMenuCommandInteraction,
  type ModalSubmitInteraction,
  Partials,
  REST,
  Routes,
} from 'discord.js';
import type { Entry, InboundEvent, InboundInput } from '../../app/chat-platform.js';
import { InboundService } from '../../app/inbound-service.js';
import type { InboundDeps } from '../../app/intake.js';
import { UNAVAILABLE } from '../../app/launch.js';
import type { Place } from '../../core/access.js';
import type { ParseResult } from '../../core/command-parser.js';
import { parseCommand } from '../../core/command-parser.js';
import type { InteractionTokens } from '../../core/jobs.js';
import type { CoreSettings } from '../../core/settings.js';
import { commandDefinitions, commandText, presetChoices } from './command-definitions.js';
import { DiscordDeliverer, discordRestOptions } from './discord-deliverer.js';
import { attachedFiles, attachedImages } from './discord-edits.js';
import { EDIT_COMMAND, EDITOR_INPUT, parseButtonId, parseEditorId } from './discord-format.js';
import {
  DiscordInteractionPlatform,
  DiscordMessagePlatform,
  type StartingInteraction,
} from './discord-platform.js';
import { MODEL_FORM_INPUTS, parseModelFormId } from './discord-watch.js';
import { guardPackets } from './packet-guard.js';
import { isUserInstallOnly, USER_INSTALL_CHANNEL } from './user-install.js';

export interface DiscordBotOptions extends InboundDeps {
  token: string;
  applicationId: string;
  apiUrl: string;
  /** Where queued jobs' interaction tokens are kept: a Cancel edits a queued job's status through them. */
  interactionTokens?: InteractionTokens;
}

/**
 * The Discord side of the gateway: `/flux` and `/ask` application commands, their buttons, the "Edit with
 * lorabot" message command and the editor modal, and mentions
 * (`@lorabot flux …`, `@lorabot ask …`, `@lorabot <question>`), DMs and replies that continue a conversation.
 * Each is translated into an inbound event and handed to the one `InboundService` with a port built around the
 * interaction or message. Intents are Guilds, GuildMessages and DirectMessages: content that mentions the bot,
 * and DMs, arrive without the privileged MessageContent intent.
 */
export class DiscordBot {
  private readonly service: InboundService;
  private readonly deliverer: DiscordDeliverer;
  private readonly recent = new RecentIds(1000);
  private current: Client;
  /** Restarts since the connection was last steady; sets the next restart's delay. */
  private restarts = 0;
  private readyAt = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: DiscordBotOptions) {
    this.service = new InboundService(options);
    this.deliverer = new DiscordDeliverer({
      token: options.token,
      apiUrl: options.apiUrl,
      ...(options.interactionTokens ? { interactionTokens: options.interactionTokens } : {}),
    });
    this.current = this.createClient();
  }

  /** The discord.js client in use (a new one after a restart). */
  get client(): Client {
    return this.current;
  }

  async start(): Promise<void> {
    await this.current.login(this.options.token);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    await this.current.destroy();
  }

  /** A client with every listener lorabot needs; each restart makes a new one. */
  private createClient(): Client {
    const client = new Client({
      intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.DirectMessages],
      partials: [Partials.Channel],
      allowedMentions: { parse: [], repliedUser: false },
      rest: discordRestOptions(this.options.apiUrl),
    });
    client.on(Events.InteractionCreate, (interaction) => {
      // A gateway resume may deliver an interaction again; the first delivery answers it (Redis claims the
      // request across processes, but only after the deferral, which a second delivery must not attempt).
      if (!this.recent.add(interaction.id)) return;
      if (interaction.isAutocomplete()) {
        this.onAutocomplete(interaction);
        return;
      }
      if (interaction.isButton()) {
        this.onButton(interaction).catch((error: unknown) => this.logError('button', error));
        return;
      }
      if (interaction.isMessageContextMenuCommand()) {
        this.onMessageCommand(interaction).catch((error: unknown) => this.logError('message command', error));
        return;
      }
      if (interaction.isModalSubmit()) {
        this.onModalSubmit(interaction).catch((error: unknown) => this.logError('modal', error));
        return;
      }
      if (!interaction.isChatInputCommand()) return;
      this.onCommand(interaction).catch((error: unknown) => this.logError('interaction', error));
    });
    client.on(Events.MessageCreate, (message) => {
      this.onMessage(message).catch((error: unknown) => this.logError('message', error));
    });
    client.on(Events.Error, (error) => this.logError('client', error));
    client.on(Events.ClientReady, () => {
      this.readyAt = Date.now();
    });
    // discord.js resumes and reconnects by itself; this is a close it will not recover from (say, 4004).
    client.on(Events.ShardDisconnect, (event) => this.restartLater(`gateway closed with ${event.code}`));
    guardPackets(client, (packet, error) =>
      this.options.logger.error(
        { component: 'discord', event: packet.kind, id: packet.id, err: errorMessage(error) },
        'discord.js could not handle a gateway event; it was dropped',
      ),
    );
    return client;
  }

  /**
   * Restarts the Discord connection with a new client after a growing delay (1 s, 2 s, 4 s, … at most 60 s; back
   * to 1 s once a connection has held for a minute). Slack, the web page and the worker are not touched.
   */
  private restartLater(reason: string): void {
    if (this.stopped || this.restartTimer) return;
    if (this.readyAt > 0 && Date.now() - this.readyAt > STEADY_MS) this.restarts = 0;
    const delayMs = Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** this.restarts);
    this.restarts++;
    this.options.logger.warn(
      { component: 'discord', reason, delayMs, restart: this.restarts },
      'discord connection lost for good: restarting the client',
    );
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      void this.restart();
    }, delayMs);
  }

  private async restart(): Promise<void> {
    const old = this.current;
    this.current = this.createClient();
    await old.destroy().catch(() => undefined);
    try {
      await this.current.login(this.options.token);
      if (this.stopped) await this.current.destroy();
      this.options.logger.info({ component: 'discord', restart: this.restarts }, 'discord client restarted');
    } catch (error) {
      this.restartLater(`login failed: ${errorMessage(error)}`);
    }
  }

  private onAutocomplete(interaction: AutocompleteInteraction): void {
    const focused = interaction.options.getFocused(true);
    const choices = focused.name.startsWith('lora')
      ? presetChoices(this.options.settings, String(focused.value), this.placeOf(interaction))
      : [];
    interaction.respond(choices).catch((error: unknown) => this.logError('autocomplete', error));
  }

  private async onCommand(interaction: ChatInputCommandInteraction): Promise<void> {
    const name = interaction.commandName;
    if (name !== 'flux' && name !== 'ask') return;
    const options = new Map<string, string | number>();
    for (const option of interaction.options.data) {
      if (option.value !== undefined) options.set(option.name, option.value as string | number);
    }
    const input: InboundInput = { type: 'command', kind: name, text: commandText(name, options) };
    await this.service.handle(this.interactionEvent(interaction, 'slash', input), this.portFor(interaction));
  }

  /** Cancel, Regenerate and Details on status messages; Run and Cancel on a confirmation. */
  private async onButton(interaction: ButtonInteraction): Promise<void> {
    const button = parseButtonId(interaction.customId);
    if (!button) return;
    const input: InboundInput = { type: 'press', action: button.action, id: button.value };
    await this.service.handle(this.interactionEvent(interaction, 'button', input), this.portFor(interaction));
  }

  /** "Edit with lorabot" on a message: its image attachments (links Discord keeps public for a while). */
  private async onMessageCommand(interaction: MessageContextMenuCommandInteraction): Promise<void> {
    if (interaction.commandName !== EDIT_COMMAND) return;
    const input: InboundInput = { type: 'edit-message', images: attachedImages(interaction.targetMessage) };
    const event = this.interactionEvent(interaction, 'message-action', input);
    await this.service.handle(event, this.portFor(interaction));
  }

  /** An editor's modal submitted: its prompt, and the draft its custom_id names. */
  private async onModalSubmit(interaction: ModalSubmitInteraction): Promise<void> {
    const watchId = parseModelFormId(interaction.customId);
    if (watchId) {
      const value = (id: string) => interaction.fields.getTextInputValue(id);
      const input: InboundInput = {
        type: 'add-model',
        watchId,
        name: value(MODEL_FORM_INPUTS.name),
        systemPrompt: value(MODEL_FORM_INPUTS.system),
        maxTokens: value(MODEL_FORM_INPUTS.maxTokens),
      };
      await this.service.handle(
        this.interactionEvent(interaction, 'editor', input),
        this.portFor(interaction),
      );
      return;
    }
    const draftId = parseEditorId(interaction.customId);
    if (!draftId) return;
    const text = interaction.fields.getTextInputValue(EDITOR_INPUT);
    const input: InboundInput = { type: 'edit', draftId, text };
    await this.service.handle(this.interactionEvent(interaction, 'editor', input), this.portFor(interaction));
  }

  private async onMessage(message: Message): Promise<void> {
    const me = this.client.user;
    if (!me || message.author.bot) return;
    const isDm = message.guildId === null;
    if (!isDm && !message.mentions.users.has(me.id)) return;
    const text = message.content.replace(new RegExp(`<@!?${me.id}>`, 'g'), ' ').trim();
    const port = new DiscordMessagePlatform(message, this.deliverer);
    let input: InboundInput;
    try {
      input = await this.mentionInput(message, text);
    } catch (error) {
      this.logError('conversation', error);
      await port.tell(UNAVAILABLE);
      return;
    }
    const parentChannelId = message.channel.isThread() ? message.channel.parentId : null;
    const place: Place = {
      platform: 'discord',
      workspaceId: message.guildId ?? '',
      channelId: message.channelId,
      ...(parentChannelId ? { parentChannelId } : {}),
    };
    const event: InboundEvent = {
      requester: {
        platform: 'discord',
        workspaceId: place.workspaceId,
        channelId: message.channelId,
        userId: message.author.id,
      },
      place,
      requestId: `discord-msg-${message.id}`,
      receivedAt: this.options.now(),
      entry: input.type === 'follow-up' ? 'thread' : isDm ? 'dm' : 'mention',
      input,
    };
    await this.service.handle(event, port);
  }

  /**
   * What a mention or DM asks: `flux …` or `ask …` as typed; a plain question in a conversation's thread, or in
   * reply to one of its messages, continues it; any other text is a new question.
   */
  private async mentionInput(message: Message, text: string): Promise<InboundInput> {
    const command = mentionCommand(text);
    const attached = attachedFiles(message);
    const images = attached.length > 0 ? { images: attached } : {};
    if (command.explicit) return { type: 'command', kind: command.kind, text: command.text, ...images };
    const refs = [message.reference?.messageId, message.channel.isThread() ? message.channelId : undefined];
    const conversationKey = await this.service.findConversation(
      'discord',
      refs.filter((ref): ref is string => ref !== undefined),
    );
    if (!conversationKey) return { type: 'command', kind: command.kind, text: command.text, ...images };
    return { type: 'follow-up', conversationKey, threadId: message.channelId, question: text, ...images };
  }

  private portFor(interaction: StartingInteraction): DiscordInteractionPlatform {
    return new DiscordInteractionPlatform(interaction, this.deliverer, {
      userInstall: isUserInstallOnly(interaction),
    });
  }

  private interactionEvent(
    interaction: StartingInteraction,
    entry: Extract<Entry, 'slash' | 'button' | 'message-action' | 'editor'>,
    input: InboundInput,
  ): InboundEvent {
    const place = this.placeOf(interaction);
    return {
      requester: {
        platform: 'discord',
        workspaceId: place.workspaceId,
        channelId: place.channelId,
        userId: interaction.user.id,
      },
      place,
      requestId: `discord-${interaction.id}`,
      receivedAt: this.options.now(),
      entry,
      input,
    };
  }

  private placeOf(interaction: StartingInteraction | AutocompleteInteraction): DiscordPlace {
    if (isUserInstallOnly(interaction)) {
      return {
        platform: 'discord',
        workspaceId: interaction.guildId ?? '',
        channelId: USER_INSTALL_CHANNEL,
        userInstall: true,
      };
    }
    const parentChannelId = interaction.channel?.isThread() ? interaction.channel.parentId : null;
    return {
      platform: 'discord' as const,
      workspaceId: interaction.guildId ?? '',
      channelId: interaction.channelId ?? '',
      ...(parentChannelId ? { parentChannelId } : {}),
    };
  }

  private logError(where: string, error: unknown): void {
    this.options.logger.error(
      { component: 'discord', where, err: errorMessage(error) },
      'discord handler failed',
    );
  }
}

type DiscordPlace = Extract<Place, { platform: 'discord' }>;

/** The first restart's delay, doubled each time up to the cap. */
const RESTART_BASE_MS = 1000;
const RESTART_MAX_MS = 60_000;
/** A connection that held this long counts as steady: the next restart starts from the first delay again. */
const STEADY_MS = 60_000;

/** The last `size` ids seen, oldest forgotten first. */
class RecentIds {
  private readonly ids = new Set<string>();

  constructor(private readonly size: number) {}

  /** False when `id` was seen already. */
  add(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.size) this.ids.delete(this.ids.values().next().value!);
    return true;
  }
}

/**
 * A message's attachments as the question's pictures: Discord's attachment links are public for a while, so they
 * go to Together as they are; the inbound service refuses any that is not a picture or is too big.
 * @see https://discord.com/developers/docs/resources/message#attachment-object
 */
function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A mention's command: `flux …`, `ask …` and `help` as typed (explicit); anything else, a question. */
export function mentionCommand(text: string): { kind: 'flux' | 'ask'; text: string; explicit: boolean } {
  const match = /^\/?(flux|ask)\b\s*([\s\S]*)$/i.exec(text);
  if (match) return { kind: match[1]!.toLowerCase() as 'flux' | 'ask', text: match[2] ?? '', explicit: true };
  if (/^help$/i.test(text)) return { kind: 'flux', text: 'help', explicit: true };
  return { kind: 'ask', text, explicit: false };
}

/** `flux …`, `ask …`, `help`, or anything else as a question. */
export function parseMention(text: string, settings: CoreSettings, place?: Place): ParseResult {
  const command = mentionCommand(text);
  return parseCommand(command.kind, command.text, settings, place);
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
  const definitions = commandDefinitions(options.settings, { global: !options.guildId });
  const result = (await rest.put(route, { body: definitions })) as unknown[];
  return result.length;
}
