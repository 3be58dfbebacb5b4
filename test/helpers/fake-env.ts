import type { FakeSlack } from '../contract/fakes/fake-slack.js';
import type { FakeTogether } from '../contract/fakes/fake-together.js';

/** The variables that point lorabot at the fake Together and the fake Slack. */
export function fakeSlackEnv(together: FakeTogether, slack: FakeSlack, signingSecret: string) {
  return {
    TOGETHER_API_KEY: together.apiKey,
    TOGETHER_BASE_URL: together.baseUrl,
    SLACK_BOT_TOKEN: slack.botToken,
    SLACK_SIGNING_SECRET: signingSecret,
    SLACK_API_URL: slack.apiUrl,
  };
}
