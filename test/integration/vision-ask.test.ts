import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeDiscord, FakeMessage, SentAttachment } from '../contract/fakes/fake-discord.js';
import type { FakeTogether } from '../contract/fakes/fake-together.js';
import { type DiscordHarness, startDiscordHarness } from '../helpers/discord-harness.js';
import { type Harness, startHarness } from '../helpers/lorabot-harness.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Pictures in `/ask`, end to end: a Discord attachment goes to a vision preset as an `image_url` part (the link as
 * it is), the cost line counts the picture's tokens apart, a follow-up sends it again; a Slack file becomes a
 * `slack-file` source on the job; a text-only preset, a file that is not a picture and one over the cap are
 * refused privately with nothing queued. `eyes` is the vision preset; the fake Together refuses pictures to any
 * other model, as Together does.
 */
const CONFIG = [
  // Four pictures of unknown size (4 × 6,404 tokens at $0.60 per 1M: about $0.015) ask Run / Cancel first.
  'budgets:',
  '  confirm_above_usd: 0.01',
  'chat:',
  '  models:',
  '    default:',
  '      id: meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo',
  '      max_tokens: 200',
  '      pricing: { input_usd_per_m_tokens: 0.18, output_usd_per_m_tokens: 0.18 }',
  '    eyes:',
  '      id: google/gemma-4-31B-it',
  '      max_tokens: 200',
  '      vision: true',
  '      pricing: { input_usd_per_m_tokens: 0.6, output_usd_per_m_tokens: 0.8 }',
  // Marked as reading pictures by mistake: Together refuses them.
  '    blind:',
  '      id: meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo',
  '      max_tokens: 200',
  '      vision: true',
  '      pricing: { input_usd_per_m_tokens: 0.18, output_usd_per_m_tokens: 0.18 }',
].join('\n');
const TOGETHER = {
  chatModels: ['meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo', 'google/gemma-4-31B-it'],
  visionModels: ['google/gemma-4-31B-it'],
};
const USER = '333333333333333333';
const PHOTO_URL = 'https://cdn.discordapp.com/attachments/1/2/cat.png?ex=6750&is=674f&hm=abc123';
const photo: SentAttachment = {
  filename: 'cat.png',
  size: 120_000,
  contentType: 'image/png',
  width: 500,
  height: 400,
  url: PHOTO_URL,
};

describe('pictures in /ask on Discord', () => {
  let h: DiscordHarness;
  let together: FakeTogether;
  let discord: FakeDiscord;

  beforeAll(async () => {
    h = await startDiscordHarness({ configExtra: CONFIG, together: TOGETHER });
    ({ together, discord } = h);
    // What Together bills for the picture: 500×400 is one 560-pixel tile.
    together.imageSizes.set(PHOTO_URL, { width: 500, height: 400 });
  });

  afterAll(async () => {
    await h.close();
  });

  /** The texts the bot replied to a message with (private answers to a mention are replies to it). */
  const repliesTo = (id: string): string[] =>
    discord.calls.flatMap((call) => {
      const body = call.body as { content?: string; message_reference?: { message_id?: string } } | undefined;
      return call.method === 'POST' && body?.message_reference?.message_id === id ? [body.content ?? ''] : [];
    });
  /** The status message of a question, found by its text. */
  const statusOf = (text: string): FakeMessage | undefined =>
    discord.messages.find((m) => m.content.includes('ran `/ask') && m.content.includes(text));

  it('sends an attached picture to the vision preset as an image_url part, with its tokens in the cost line and the ledger', async () => {
    const month = new Date().toISOString().slice(0, 7);
    const id = discord.sendMessage({
      content: `<@${discord.botId}> what is in this picture? --model eyes`,
      mention: true,
      userId: USER,
      attachments: [photo],
    });
    const call = await waitFor('the Together call', () =>
      together.callsTo('/chat/completions').find((c) => JSON.stringify(c.body).includes('in this picture')),
    );
    expect(call.schemaErrors).toEqual([]);
    expect(call.body).toEqual({
      model: 'google/gemma-4-31B-it',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'what is in this picture?' },
            { type: 'image_url', image_url: { url: PHOTO_URL } },
          ],
        },
      ],
      max_tokens: 200,
      stream: true,
    });
    // The fake counts words: 5 in the question, 7 in its echo; the picture is 1,601 of the 1,606 input tokens.
    // (1,606 × $0.60 + 7 × $0.80) / 1M = $0.0009692, rounded up to whole micro-dollars.
    const cost = 'Cost: $0.00097 (1 image ≈ 1,601 tokens + 5 in + 7 out tokens)';
    const status = await waitFor('the status reply', () => statusOf('in this picture'));
    const done = await waitFor('the completion notice', () =>
      discord.messagesIn(status.id).find((m) => m.content.startsWith(`<@${USER}> Your answer is ready`)),
    );
    expect(done.content).toBe(`<@${USER}> Your answer is ready. ${cost}`);
    const entry = await waitFor('the ledger entry', async () =>
      (await h.running.workers!.ledgerView.entries(month)).find((e) => e.jobId === `discord-msg-${id}`),
    );
    expect(entry).toMatchObject({ kind: 'ask', model: 'google/gemma-4-31B-it', micros: 970, costText: cost });
  });

  it('sends the picture again with a follow-up in the thread, and keeps the follow-up’s own picture after it', async () => {
    discord.sendMessage({
      content: `<@${discord.botId}> --model eyes describe the colours`,
      mention: true,
      userId: USER,
      attachments: [photo],
    });
    const status = await waitFor('the status reply', () => statusOf('describe the colours'));
    await waitFor('done', () => status.content.includes('Done'), 20_000);
    const thread = await waitFor('the thread', () => discord.threads.find((t) => t.id === status.id));
    // Its size unknown to lorabot and Together alike: counted as the most, 2 × 2 tiles.
    const second: SentAttachment = {
      filename: 'dog.jpg',
      size: 80_000,
      contentType: 'image/jpeg',
      url: 'https://cdn.discordapp.com/attachments/1/3/dog.jpg',
    };
    discord.sendMessage({
      content: `<@${discord.botId}> and which of the two is brighter?`,
      mention: true,
      userId: USER,
      channelId: thread.id,
      attachments: [second],
    });
    const call = await waitFor('the follow-up call', () =>
      together.callsTo('/chat/completions').find((c) => JSON.stringify(c.body).includes('brighter')),
    );
    expect(call.schemaErrors).toEqual([]);
    expect((call.body as { messages: unknown[] }).messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'describe the colours' },
          { type: 'image_url', image_url: { url: PHOTO_URL } },
        ],
      },
      { role: 'assistant', content: 'You asked: describe the colours' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'and which of the two is brighter?' },
          { type: 'image_url', image_url: { url: second.url } },
        ],
      },
    ]);
    const done = await waitFor('the follow-up notice', () =>
      discord
        .messagesIn(thread.id)
        .find((m) => m.content.includes('Your answer is ready') && m.content.includes('2 images')),
    );
    // Both pictures are billed again: 1,601 for the cat (its size is known to Together) + 6,404 for the dog.
    expect(done.content).toContain('2 images ≈ 8,005 tokens + ');
  });

  it('keeps attached pictures through a confirmation: Run sends them, estimated at the most for unknown sizes', async () => {
    const files = [1, 2, 3, 4].map(
      (n): SentAttachment => ({
        filename: `page${n}.webp`,
        size: 90_000,
        contentType: 'image/webp',
        url: `https://cdn.discordapp.com/attachments/1/4/page${n}.webp`,
      }),
    );
    const id = discord.sendMessage({
      content: `<@${discord.botId}> --model eyes summarise these pages`,
      mention: true,
      userId: USER,
      attachments: files,
    });
    const question = await waitFor('the confirmation', () =>
      discord.messages.find((m) => discord.buttonsOf(m.id).includes(`lorabot:run:discord-msg-${id}`)),
    );
    expect(question.content).toContain('4 images ≈ 25,616 tokens + up to ');
    discord.pressButton({ messageId: question.id, customId: `lorabot:run:discord-msg-${id}`, userId: USER });
    const call = await waitFor('the Together call', () =>
      together
        .callsTo('/chat/completions')
        .find((c) => JSON.stringify(c.body).includes('summarise these pages')),
    );
    expect(call.schemaErrors).toEqual([]);
    expect((call.body as { messages: Array<{ content: unknown }> }).messages.at(-1)!.content).toEqual([
      { type: 'text', text: 'summarise these pages' },
      ...files.map((file) => ({ type: 'image_url', image_url: { url: file.url } })),
    ]);
  });

  it('refuses a picture on a text-only preset, naming the presets that read pictures, and queues nothing', async () => {
    const calls = together.calls.length;
    const id = discord.sendMessage({
      content: `<@${discord.botId}> what is this?`,
      mention: true,
      userId: USER,
      attachments: [photo],
    });
    const reply = await waitFor('the refusal', () => repliesTo(id)[0]);
    expect(reply).toBe(
      'The chat model `default` does not read pictures. Ask again with one that does, e.g. `/ask --model eyes <question>`. Models that read pictures: eyes, blind. Nothing was queued.',
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(repliesTo(id)).toHaveLength(1);
    expect(together.calls.length).toBe(calls);
  });

  it('reports Together refusing a picture for a model marked as reading pictures by mistake, charging nothing', async () => {
    const month = new Date().toISOString().slice(0, 7);
    const id = discord.sendMessage({
      content: `<@${discord.botId}> --model blind what is this?`,
      mention: true,
      userId: USER,
      attachments: [photo],
    });
    const status = await waitFor('the status reply', () => statusOf('--model blind'));
    await waitFor('the failure', () => status.content.includes('Failed'), 20_000);
    expect(status.content).toContain(
      'Together rejected the request: Model meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo does not support image inputs.',
    );
    const entries = await h.running.workers!.ledgerView.entries(month);
    expect(entries.filter((e) => e.jobId === `discord-msg-${id}` && e.micros > 0)).toEqual([]);
  });

  it.each([
    {
      file: { filename: 'notes.pdf', size: 30_000, contentType: 'application/pdf' },
      said: '`notes.pdf` is not a picture lorabot can read (application/pdf): attach a PNG, JPEG, WebP or GIF image. Nothing was queued.',
    },
    {
      file: {
        filename: 'huge.png',
        size: 50 * 1024 * 1024,
        contentType: 'image/png',
        width: 8000,
        height: 6000,
      },
      said: '`huge.png` is 50 MB; a picture can be at most 20 MB. Nothing was queued.',
    },
  ])('refuses $file.filename privately and queues nothing', async ({ file, said }) => {
    const calls = together.calls.length;
    const id = discord.sendMessage({
      content: `<@${discord.botId}> --model eyes look`,
      mention: true,
      userId: USER,
      attachments: [file],
    });
    const reply = await waitFor('the refusal', () => repliesTo(id)[0]);
    expect(reply).toBe(said);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(repliesTo(id)).toHaveLength(1);
    expect(together.calls.length).toBe(calls);
  });
});

describe('pictures in /ask on Slack', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ configExtra: CONFIG, together: TOGETHER });
  });

  afterAll(async () => {
    await h.close();
  });

  it('turns a file in a thread reply into a slack-file source on the job, for the worker to download', async () => {
    await h.slash({
      channel_id: 'C0VIS',
      user_id: 'U0VIS',
      command: '/ask',
      text: '--model eyes what is a histogram?',
    });
    const parent = await waitFor(
      'the /ask',
      () => h.slack.parents('C0VIS').find((m) => m.text.includes('<@U0VIS>') && /Done/.test(m.text)),
      20_000,
    );
    const file = {
      id: 'F0CHART',
      name: 'chart.png',
      mimetype: 'image/png',
      size: 48_000,
      url_private: 'https://files.slack.com/files-pri/T0LORABOT-F0CHART/chart.png',
      original_w: 800,
      original_h: 600,
    };
    await h.say({
      channelId: 'C0VIS',
      threadTs: parent.ts,
      userId: 'U0VIS',
      text: 'and this one?',
      subtype: 'file_share',
      files: [file],
    });
    const status = await waitFor('the follow-up status', () =>
      h.slack.thread('C0VIS', parent.ts).find((m) => m.text.includes('ran /ask and this one?')),
    );
    const jobId = /"value":"(slack-[^"]+)"/.exec(JSON.stringify(status.blocks))?.[1];
    expect(jobId).toBeDefined();
    const found = await h.running.producer!.find(jobId!);
    expect(found?.data.kind).toBe('ask');
    const request = found!.data.request as { images?: unknown[]; earlierImages?: number };
    expect(request.images).toEqual([
      {
        kind: 'slack-file',
        url: file.url_private,
        name: 'chart.png',
        mimetype: 'image/png',
        bytes: 48_000,
        width: 800,
        height: 600,
      },
    ]);
    expect(request.earlierImages).toBeUndefined();
    // The body carries the file as its marker: Together cannot read a Slack link, the worker resolves it.
    const messages = found!.data.body.messages as Array<{ content: unknown }>;
    expect(messages.at(-1)!.content).toEqual([
      { type: 'text', text: 'and this one?' },
      { type: 'image_url', image_url: { url: 'lorabot-source:0' } },
    ]);
    // The estimate counts the 800×600 picture as 2 × 2 tiles (6,404 tokens at $0.60 per 1M: at least $0.0038).
    expect(found!.data.estimateMicros).toBeGreaterThan(3842);
  });
});
