/** Where lorabot may be used: allowlists per platform (an empty list allows everything) and the admins. */
export interface AccessRules {
  slack: { workspaces: readonly string[]; channels: readonly string[] };
  /**
   * `userInstalls`: whether people who installed lorabot to their own account may use it where the bot is not a
   * member (absent: allowed).
   */
  discord: { guilds: readonly string[]; channels: readonly string[]; dms: boolean; userInstalls?: boolean };
  /** Web users are named by their login, which anyone with the password may choose: the web has no admins. */
  admins: { slack: readonly string[]; discord: readonly string[]; web: readonly string[] };
}

export const OPEN_ACCESS: AccessRules = {
  slack: { workspaces: [], channels: [] },
  discord: { guilds: [], channels: [], dms: true, userInstalls: true },
  admins: { slack: [], discord: [], web: [] },
};

export type Place =
  | { platform: 'slack'; workspaceId: string; channelId: string }
  /**
   * Discord. `userInstall`: used through a person's own install where the bot is not a member (a DM between people,
   * or a server without the bot); `workspaceId` is then the server's id, or empty in a DM.
   */
  | {
      platform: 'discord';
      workspaceId: string;
      channelId: string;
      parentChannelId?: string;
      userInstall?: boolean;
    }
  | { platform: 'web'; channelId: 'web' }
  /** The operator's terminal (`lorabot run`). */
  | { platform: 'cli'; channelId: 'cli' };

export const NOT_ENABLED_HERE =
  'lorabot is not enabled here. Ask an admin to allow this channel. Nothing was queued or charged.';

/**
 * Whether a command from this place may be queued. A thread counts as its parent channel. The web playground is
 * always allowed (its own login guards it), and so is the operator's terminal. A user install is allowed while
 * `discord.userInstalls` is, in a server only when the server is allowed; the channel list does not apply (the bot
 * is in no channel there), nor `dms` (which is about the bot's own DMs).
 */
export function isAllowed(rules: AccessRules, place: Place): boolean {
  if (place.platform === 'web' || place.platform === 'cli') return true;
  const allows = (list: readonly string[], id: string) => list.length === 0 || list.includes(id);
  if (place.platform === 'slack') {
    return allows(rules.slack.workspaces, place.workspaceId) && allows(rules.slack.channels, place.channelId);
  }
  if (place.userInstall) {
    if (rules.discord.userInstalls === false) return false;
    return place.workspaceId === '' || allows(rules.discord.guilds, place.workspaceId);
  }
  if (place.workspaceId === '') return rules.discord.dms;
  const channels = rules.discord.channels;
  const channelAllowed =
    channels.length === 0 ||
    channels.includes(place.channelId) ||
    (place.parentChannelId !== undefined && channels.includes(place.parentChannelId));
  return allows(rules.discord.guilds, place.workspaceId) && channelAllowed;
}
