import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/lorabot-harness.js';
import { waitFor } from '../helpers/wait.js';

const TUNED = 'lorabot-team/llama-tarot-ft';
const BASE_CHAT = 'meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo';

let h: Harness;

/** The private answer sent to a `response_url`. */
function answerAt(responseUrl: string) {
  const id = responseUrl.split('/').pop();
  return h.slack.responses.find((r) => r.id === id);
}

describe('/ask watch on Slack: status, Watch, the end notice to every watcher, Add as model, finetune', () => {
  beforeAll(async () => {
    h = await startHarness({
      configExtra: [
        'watch: { poll_running_ms: 150, poll_waiting_ms: 300 }',
        'access:',
        '  admins: { slack: [U0ADMIN], discord: [] }',
      ].join('\n'),
      together: { chatModels: [BASE_CHAT, TUNED] },
    });
  });

  afterAll(async () => {
    await h.close();
  });

  it('keeps one status message current, mentions every watcher once at the end, and Add as model makes a preset /ask uses', async () => {
    const channel = 'C0WATCH';
    h.together.fineTunes.addFineTune('ft-e2e-ok', { stepMs: 1500, outputModel: TUNED });
    const asked = await h.slash({ channel_id: channel, command: '/ask', text: 'watch ft-e2e-ok' });
    expect(asked.status).toBe(200);
    const status = await waitFor('the status message', () =>
      h.slack.parents(channel).find((m) => m.text.includes('Fine-tune ft-e2e-ok')),
    );
    const pressed = await h.press({
      actionId: 'lorabot_watch',
      value: 'ft-e2e-ok',
      userId: 'U0OTTER',
      channelId: channel,
    });
    const joined = await waitFor('the join answer', () => answerAt(pressed.responseUrl));
    expect(String(joined.body.text)).toContain('You are watching ft-e2e-ok');

    const notice = await waitFor(
      'the end notice',
      () => h.slack.parents(channel).find((m) => m !== status && m.text.includes('completed')),
      15_000,
    );
    expect(notice.text).toContain('<@U0PANDA>');
    expect(notice.text).toContain('<@U0OTTER>');
    expect(notice.text).toContain(`the model is ${TUNED}`);
    expect(notice.text).toContain('/ask --model llama-tarot-ft');
    expect(notice.text).toContain('Total price: $4.20');
    await waitFor('the final status', () => status.text.includes('completed'));
    expect(
      status.history.some((t) => /queued|running|compressing|uploading/.test(t)),
      JSON.stringify(status.history),
    ).toBe(true);
    // One notice, however many polls came after.
    await new Promise((r) => setTimeout(r, 600));
    expect(h.slack.parents(channel).filter((m) => m.text.includes('completed') && m !== status)).toHaveLength(
      1,
    );
    const reads = h.together.fineTunes.readsOf('ft-e2e-ok');
    expect(reads.length).toBeGreaterThanOrEqual(4);
    expect(reads.length).toBeLessThan(40);

    // A non-admin is refused; an admin gets the form, and the preset it makes is what `--model` sends.
    const refused = await h.press({
      actionId: 'lorabot_add_model',
      value: 'ft-e2e-ok',
      userId: 'U0PANDA',
      channelId: channel,
    });
    expect(String((await waitFor('the refusal', () => answerAt(refused.responseUrl))).body.text)).toContain(
      'Only an admin',
    );
    const views = h.slack.views.length;
    await h.press({
      actionId: 'lorabot_add_model',
      value: 'ft-e2e-ok',
      userId: 'U0ADMIN',
      channelId: channel,
    });
    const form = await waitFor('the Add as model form', () => h.slack.views[views]);
    expect(JSON.stringify(form.view)).toContain(TUNED);
    await h.submitView({
      viewId: form.id,
      userId: 'U0ADMIN',
      values: {
        name: { value: 'tarot-llama' },
        system: { value: 'Answer in tarot terms.' },
        max_tokens: { value: '256' },
      },
    });
    await waitFor('the added answer', () =>
      h.slack.ephemerals.find((e) => e.user === 'U0ADMIN' && e.text.includes('Added the model')),
    );
    const chats = h.together.callsTo('/chat/completions').length;
    await h.slash({
      channel_id: channel,
      command: '/ask',
      text: '--model tarot-llama what does the tower mean?',
    });
    const call = await waitFor('the chat call', () => h.together.callsTo('/chat/completions')[chats]);
    expect(call.body).toMatchObject({ model: TUNED, max_tokens: 256 });
    expect(JSON.stringify(call.body)).toContain('Answer in tarot terms.');
  }, 40_000);

  it('tells every watcher the error event of a failed fine-tune', async () => {
    const channel = 'C0WATCHFAIL';
    h.together.fineTunes.addFineTune('ft-e2e-bad', {
      stepMs: 200,
      failWith: 'Line 12 of the training file is not JSON <!channel>',
    });
    await h.slash({ channel_id: channel, command: '/ask', text: 'watch ft-e2e-bad' });
    const notice = await waitFor(
      'the failure notice',
      () => h.slack.parents(channel).find((m) => m.text.includes('failed')),
      15_000,
    );
    expect(notice.text).toContain(
      '<@U0PANDA> Fine-tune ft-e2e-bad failed: Line 12 of the training file is not JSON &lt;!channel&gt;',
    );
  }, 30_000);

  it('ends a watch of a job Together does not know with a message', async () => {
    const channel = 'C0WATCHGONE';
    await h.slash({ channel_id: channel, command: '/ask', text: 'watch job-nobody-knows' });
    const notice = await waitFor('the gone notice', () =>
      h.slack.parents(channel).find((m) => m.text.includes('no longer known')),
    );
    expect(notice.text).toContain('<@U0PANDA> Upload job-nobody-knows is no longer known to Together');
  }, 30_000);

  it("waits out Together's Retry-After before looking again", async () => {
    const channel = 'C0WATCH429';
    h.together.fineTunes.addUpload('job-e2e-429', { stepMs: 300 });
    h.together.fineTunes.rateLimit(1, 2);
    await h.slash({ channel_id: channel, command: '/ask', text: 'watch job-e2e-429' });
    const notice = await waitFor(
      'the upload notice',
      () => h.slack.parents(channel).find((m) => m.text.includes('completed')),
      15_000,
    );
    expect(notice.text).toContain('<@U0PANDA> Upload job-e2e-429 completed');
    const reads = h.together.fineTunes.calls.filter((c) => c.path === '/jobs/job-e2e-429');
    expect(reads[1]!.at - reads[0]!.at).toBeGreaterThanOrEqual(1900);
  }, 30_000);

  it("refuses a non-admin's finetune privately and starts nothing", async () => {
    const calls = h.together.fineTunes.calls.length;
    const result = await h.slash({
      channel_id: 'C0WATCH',
      command: '/ask',
      text: 'finetune file-abc123 --model meta-llama/Meta-Llama-3.1-8B-Instruct-Reference --lora',
    });
    expect(result.text).toContain('Only an admin');
    expect(h.together.fineTunes.calls.slice(calls).filter((c) => c.method === 'POST')).toEqual([]);
  });

  it("runs an admin's finetune after its estimate, watches it, and charges its total_price as a fine-tune", async () => {
    const channel = 'C0TUNE';
    await h.slash({
      channel_id: channel,
      user_id: 'U0ADMIN',
      command: '/ask',
      text: 'finetune file-abc123 --model meta-llama/Meta-Llama-3.1-8B-Instruct-Reference --epochs 2 --lora',
    });
    const estimate = await waitFor('the estimate request', () =>
      h.together.fineTunes.calls.find((c) => c.path === '/fine-tunes/estimate-price'),
    );
    expect(estimate.schemaErrors).toEqual([]);
    const confirm = await waitFor('the estimate', () =>
      h.slack.responses.find((r) => String(r.body.text).includes('estimates this fine-tune at $4.20')),
    );
    const run = JSON.stringify(confirm.body).match(/"action_id":"lorabot_run","value":"([^"]+)"/)?.[1];
    expect(run).toBeDefined();
    await h.press({ actionId: 'lorabot_run', value: run!, userId: 'U0ADMIN', channelId: channel });
    const created = await waitFor('the created fine-tune', () =>
      h.together.fineTunes.calls.find((c) => c.method === 'POST' && c.path === '/fine-tunes'),
    );
    expect(created.schemaErrors).toEqual([]);
    expect(created.body).toMatchObject({
      training_file: 'file-abc123',
      n_epochs: 2,
      training_type: { type: 'Lora' },
    });
    await waitFor(
      'the end notice',
      () =>
        h.slack.parents(channel).find((m) => m.text.includes('<@U0ADMIN>') && m.text.includes('completed')),
      20_000,
    );
  }, 40_000);
});
