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
 * authorized there by the user alone (no server install, key "0": a server the bot has not joined, or a DM), or
 * it is a DM or group DM between people (context 2). Lorabot can then answer only through the interaction's webhook.
 * @see https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object-authorizing-integration-owners-object
 */
export function isUserInstallOnly(
  interaction: Pick<BaseInteraction | AutocompleteInteraction, 'authorizingIntegrationOwners' | 'context'>,
): boolean {
  const owners = interaction.authorizingIntegrationOwners ?? {};
  if (owners[ApplicationIntegrationType.UserInstall] === undefined) return false;
  if (owners[ApplicationIntegrationType.GuildInstall] === undefined) return true;
  // With a server's install in the owners, the bot is in that server (or this is its own DM); a DM between people
  // never has the bot in it. discord.js's guild cache is not asked: it may not hold a server yet.
  return interaction.context === InteractionContextType.PrivateChannel;
}
