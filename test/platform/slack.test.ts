import { expect, it } from 'vitest';
import { definePlatformSuite, suiteConfig } from './platform-suite.js';
import { SLACK_CAPABILITIES, startSlackDriver } from './slack-driver.js';

definePlatformSuite(
  'Slack',
  SLACK_CAPABILITIES,
  () => startSlackDriver(suiteConfig),
  (driver) => {
    it('opened every editor modal within the 3 s a trigger_id lasts', () => {
      const { views } = driver().h.slack;
      // Edit on the heron (twice: once sent by a stranger), the owl's Edit past its budget, the shortcut.
      expect(views).toHaveLength(4);
      expect(Math.max(...views.map((v) => v.afterMs))).toBeLessThan(3000);
    });

    it('called Slack only with arguments its Web API documents, uploading images by the external flow and opening modals by their trigger', () => {
      const checked = driver().h.slack.calls.filter((call) => call.method !== 'apps.connections.open');
      expect([...new Set(checked.map((call) => call.method))]).toEqual(
        expect.arrayContaining([
          'chat.postMessage',
          'chat.update',
          'files.getUploadURLExternal',
          'files.completeUploadExternal',
          'views.open',
          'chat.postEphemeral',
        ]),
      );
      for (const call of checked)
        expect(call.schemaErrors, `${call.method} ${JSON.stringify(call.args)}`).toEqual([]);
    });
  },
);
