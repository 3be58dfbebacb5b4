import {
  ApplicationIntegrationType,
  type AutocompleteInteraction,
  type BaseInteraction,
  InteractionContextType,
} from 'discord.js';

/**
 * The "channel" a user install's requests are recorded under (budgets, the ledger): one per server, or one for
 * all DMs, since the bot is in no channel there.
 */
export const USER_INSTALL_CHANNEL = 'user-install';

/**
 * Whether an interaction comes through a person's own install where the bot is not a member: the app is
 * authorized there by the user alone (no guild install, key "0"), or it is a DM between people (context 2), or a
 * server the bot has not joined. Lorabot can then answer only through the interaction's webhook.
 * @see https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object-authorizing-integration-owners-object
 */
export function isUserInstallOnly(
  interaction: Pick<
    BaseInteraction | AutocompleteInteraction,
    'authorizingIntegrationOwners' | 'context' | 'guildId' | 'client'
  >,
): boolean {
  const owners = interaction.authorizingIntegrationOwners ?? {};
  if (owners[ApplicationIntegrationType.UserInstall] === undefined) return false;
  if (owners[ApplicationIntegrationType.GuildInstall] === undefined) return true;
  if (interaction.context === InteractionContextType.PrivateChannel) return true;
  return interaction.guildId !== null && !interaction.client.guilds.cache.has(interaction.guildId);
}
