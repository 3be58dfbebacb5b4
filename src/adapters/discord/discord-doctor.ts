import { request } from 'undici';
import type { DoctorCheck } from '../../core/doctor-check.js';

/** Discord: the bot token works (`GET /users/@me`). @see https://discord.com/developers/docs/resources/user#get-current-user */
export async function checkDiscord(discord: { token: string; apiUrl: string } | null): Promise<DoctorCheck> {
  if (!discord) return { level: 'OK', name: 'discord', message: 'off (DISCORD_TOKEN is not set)' };
  try {
    const response = await request(`${discord.apiUrl.replace(/\/+$/, '')}/v10/users/@me`, {
      headers: {
        authorization: `Bot ${discord.token}`,
        'user-agent': 'DiscordBot (https://github.com/lorabot, 0.1)',
      },
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await response.body.json().catch(() => ({}))) as { username?: string };
    if (response.statusCode === 200)
      return { level: 'OK', name: 'discord', message: `token works as ${body.username ?? 'the bot'}` };
    if (response.statusCode === 401) {
      return {
        level: 'FAIL',
        name: 'discord',
        message: 'Discord rejected DISCORD_TOKEN: reset the bot token in the Developer Portal (Bot page)',
      };
    }
    return {
      level: 'FAIL',
      name: 'discord',
      message: `GET /users/@me answered HTTP ${response.statusCode}; check DISCORD_API_URL`,
    };
  } catch (error) {
    return {
      level: 'FAIL',
      name: 'discord',
      message: `cannot reach Discord (${error instanceof Error ? error.message : String(error)}); check DISCORD_API_URL and the network`,
    };
  }
}
