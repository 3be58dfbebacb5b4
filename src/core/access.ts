/** Where lorabot may be used: allowlists per platform (an empty list allows everything) and the admins. */
export interface AccessRules {
  slack: { workspaces: readonly string[]; channels: readonly string[] };
  discord: { guilds: readonly string[]; channels: readonly string[]; dms: boolean };
  /** Web users are named by their login, which anyone with the password may choose: the web has no admins. */
  admins: { slack: readonly string[]; discord: readonly string[]; web: readonly string[] };
}

export const OPEN_ACCESS: AccessRules = {
  slack: { workspaces: [], channels: [] },
  discord: { guilds: [], channels: [], dms: true },
  admins: { slack: [], discord: [], web: [] },
};

export type Place =
  | { platform: 'slack'; workspaceId: string; channelId: string }
  | { platform: 'discord'; workspaceId: string; channelId: string; parentChannelId?: string }
  | { platform: 'web'; channelId: 'web' }
  /** The operator's terminal (`lorabot run`). */
  | { platform: 'cli'; channelId: 'cli' };

export const NOT_ENABLED_HERE =
  'lorabot is not enabled here. Ask an admin to allow this channel. Nothing was queued or charged.';

/**
 * Whether a command from this place may be queued. A thread counts as its parent channel. The web playground is
 * always allowed (its own login guards it), and so is the operator's terminal.
 */
export function isAllowed(rules: AccessRules, place: Place): boolean {
  if (place.platform === 'web' || place.platform === 'cli') return true;
  const allows = (list: readonly string[], id: string) => list.length === 0 || list.includes(id);
  if (place.platform === 'slack') {
    return allows(rules.slack.workspaces, place.workspaceId) && allows(rules.slack.channels, place.channelId);
  }
  if (place.workspaceId === '') return rules.discord.dms;
  const channels = rules.discord.channels;
  const channelAllowed =
    channels.length === 0 ||
    channels.includes(place.channelId) ||
    (place.parentChannelId !== undefined && channels.includes(place.parentChannelId));
  return allows(rules.discord.guilds, place.workspaceId) && channelAllowed;
}
