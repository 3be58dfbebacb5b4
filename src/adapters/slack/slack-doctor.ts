import { WebClient } from '@slack/web-api';
import type { DoctorCheck } from '../../core/doctor-check.js';

/** Slack: the bot token works (`auth.test`). @see https://docs.slack.dev/reference/methods/auth.test */
export async function checkSlack(
  slack: { botToken: string; apiUrl: string; appToken?: string | undefined } | null,
): Promise<DoctorCheck> {
  if (!slack) return { level: 'OK', name: 'slack', message: 'off (SLACK_BOT_TOKEN is not set)' };
  const client = new WebClient(slack.botToken, {
    slackApiUrl: slack.apiUrl,
    retryConfig: { retries: 0 },
    timeout: 10_000,
  });
  try {
    const result = await client.auth.test();
    const mode = slack.appToken ? 'Socket Mode' : 'HTTP mode (POST /slack/events)';
    return {
      level: 'OK',
      name: 'slack',
      message: `token works for team ${result.team} as @${result.user}; ${mode}`,
    };
  } catch (error) {
    const code = (error as { data?: { error?: string } }).data?.error;
    const hint =
      code === 'invalid_auth' || code === 'not_authed' || code === 'token_revoked'
        ? 'Slack rejected SLACK_BOT_TOKEN: copy the Bot User OAuth Token (xoxb-…) from your app’s OAuth & Permissions page'
        : `auth.test failed (${code ?? (error instanceof Error ? error.message : String(error))}); check SLACK_API_URL and the network`;
    return { level: 'FAIL', name: 'slack', message: hint };
  }
}
