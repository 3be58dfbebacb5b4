import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DiscordHarness, startDiscordHarness } from '../helpers/discord-harness.js';
import { waitFor } from '../helpers/wait.js';

const USER = '222222222222222222';
const OTTER = '444444444444444444';
const ADMIN = '333333333333333333';
const TUNED = 'lorabot-team/qwen-support-ft';
const BASE_CHAT = 'meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo';

let h: DiscordHarness;

function ask(text: string, userId = USER) {
  return h.discord.sendCommand({
    name: 'ask',
    options: [{ name: 'question', type: 3, value: text }],
    userId,
  });
}

/** An answer to an interaction or its webhook (a reply, an edit, a follow-up) that contains `text`. */
function answerContaining(interactionId: string, text: string) {
  const token = h.discord.interaction(interactionId)?.token ?? 'none';
  return h.discord.calls.find(
    (c) =>
      (c.path.startsWith(`/interactions/${interactionId}/`) || c.path.includes(`/${token}`)) &&
      JSON.stringify(c.body ?? '').includes(text),
  );
}

describe('/ask watch on Discord: slash and mention, Watch, the end notice, Add as model, finetune refusal', () => {
  beforeAll(async () => {
    h = await startDiscordHarness({
      configExtra: [
        'watch: { poll_running_ms: 150, poll_waiting_ms: 300 }',
        'access:',
        `  admins: { slack: [], discord: ["${ADMIN}"] }`,
      ].join('\n'),
      together: { chatModels: [BASE_CHAT, TUNED] },
    });
  });

  afterAll(async () => {
    await h.close();
  });

  it('watches from /ask, lets another join, mentions both once, and Add as model makes a preset --model sends', async () => {
    h.together.fineTunes.addFineTune('ft-d-ok', { stepMs: 1500, outputModel: TUNED });
    const { id } = ask('watch ft-d-ok');
    const status = await waitFor('the status message', () => h.discord.publicReply(id));
    expect(status.content).toContain('Fine-tune ft-d-ok');
    expect(h.discord.buttonsOf(status.id)).toEqual(['lorabot:watch:ft-d-ok']);
    const pressed = h.discord.pressButton({
      messageId: status.id,
      customId: 'lorabot:watch:ft-d-ok',
      userId: OTTER,
    });
    await waitFor('the join answer', () => answerContaining(pressed.id, 'You are watching ft-d-ok'));
    const notice = await waitFor(
      'the end notice',
      () =>
        h.discord.messagesIn(status.channel_id).find((m) => m !== status && m.content.includes('completed')),
      15_000,
    );
    expect(notice.content).toContain(`<@${USER}>`);
    expect(notice.content).toContain(`<@${OTTER}>`);
    expect(notice.content).toContain(`the model is ${TUNED}`);
    expect(notice.allowed_mentions).toEqual({ parse: [], users: [USER, OTTER].sort() });
    await waitFor('the final status', () => status.content.includes('completed'));
    // The status moved through Together's states as they came (how many were seen depends on the load).
    expect(
      status.history.some((c) => /queued|running|compressing|uploading/.test(c)),
      JSON.stringify(status.history),
    ).toBe(true);
    expect(h.discord.buttonsOf(status.id)).toEqual([]);
    await new Promise((r) => setTimeout(r, 600));
    expect(
      h.discord.messagesIn(status.channel_id).filter((m) => m.content.includes('completed') && m !== status),
    ).toHaveLength(1);

    const modals = h.discord.modals.length;
    h.discord.pressButton({ messageId: notice.id, customId: 'lorabot:add-model:ft-d-ok', userId: ADMIN });
    const modal = await waitFor('the Add as model modal', () => h.discord.modals[modals]);
    expect(JSON.stringify(modal.data)).toContain('qwen-support-ft');
    h.discord.submitModal({
      customId: String(modal.data.custom_id),
      userId: ADMIN,
      values: { name: 'support', system: 'You answer support questions.', max_tokens: '200' },
    });
    await waitFor('the added answer', () =>
      h.discord.calls.some((c) => JSON.stringify(c.body ?? '').includes('Added the model')),
    );
    const chats = h.together.callsTo('/chat/completions').length;
    ask('--model support how do I reset my password?');
    const call = await waitFor('the chat call', () => h.together.callsTo('/chat/completions')[chats]);
    expect(call.body).toMatchObject({ model: TUNED, max_tokens: 200 });
  }, 40_000);

  it('watches from a mention and tells the watcher the error of a failed fine-tune', async () => {
    h.together.fineTunes.addFineTune('ft-d-bad', { stepMs: 200, failWith: 'Out of credits @everyone' });
    const before = h.discord.messages.length;
    h.discord.sendMessage({
      content: `<@${h.discord.botId}> ask watch ft-d-bad`,
      mention: true,
      userId: USER,
    });
    const notice = await waitFor(
      'the failure notice',
      () => h.discord.messages.slice(before).find((m) => m.content.includes('failed')),
      15_000,
    );
    expect(notice.content).toMatch(
      new RegExp(`^<@${USER}> Fine-tune ft-d-bad failed: Out of credits @everyone`),
    );
    expect(notice.allowed_mentions).toEqual({ parse: [], users: [USER] });
  }, 30_000);

  it("refuses a non-admin's finetune privately and asks Together nothing", async () => {
    const calls = h.together.fineTunes.calls.length;
    const { id } = ask('finetune file-abc --model meta-llama/Meta-Llama-3.1-8B-Instruct-Reference');
    const answer = await waitFor('the refusal', () => answerContaining(id, 'Only an admin'));
    expect(JSON.stringify(answer.body)).toContain('"flags":64');
    expect(h.together.fineTunes.calls.length).toBe(calls);
  });
});
