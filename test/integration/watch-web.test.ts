import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.js';
import { startWebDriver, type WebDriver } from '../platform/web-driver.js';

let d: WebDriver;

beforeAll(async () => {
  d = await startWebDriver(() => 'watch: { poll_running_ms: 150, poll_waiting_ms: 300 }');
});

afterAll(async () => {
  await d?.close();
});

describe('/ask watch in the web playground', () => {
  it('shows the watch as a message kept current, and its end as the notice', async () => {
    d.together.fineTunes.addFineTune('ft-web-1', { stepMs: 300, outputModel: 'team/web-ft' });
    const user = await d.user('ann');
    const request = await d.command('ask', 'watch ft-web-1', { user });
    const notice = await waitFor('the end notice', () => d.notices(request)[0], 15_000);
    expect(notice).toMatchObject({ ok: true });
    expect(notice.text).toContain('Fine-tune ft-web-1 completed: the model is team/web-ft.');
    const shown = await waitFor('the final status', () =>
      d.answer(request)?.text.includes('completed') ? d.answer(request) : undefined,
    );
    expect(shown.history[0]).toContain('👀 Fine-tune ft-web-1');
    expect(d.count(request, 'completed:')).toBe(1);
  }, 30_000);
});
