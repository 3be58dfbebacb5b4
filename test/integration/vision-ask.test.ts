import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeDiscord, FakeMessage, SentAttachment } from '../contract/fakes/fake-discord.js';
import type { FakeTogether } from '../contract/fakes/fake-together.js';
import { renderImage } from '../contract/fakes/test-images.js';
import { type DiscordHarness, startDiscordHarness } from '../helpers/discord-harness.js';
import { type Harness, startHarness } from '../helpers/lorabot-harness.js';
import { eyesBody, pictureTurn, VISION_CHAT_MODELS, VISION_TOGETHER } from '../helpers/vision.js';
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
  ...VISION_CHAT_MODELS,
  // Marked as reading pictures by mistake: Together refuses them.
  '    blind:',
  '      id: meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo',
  '      max_tokens: 200',
  '      vision: true',
  '      pricing: { input_usd_per_m_tokens: 0.18, output_usd_per_m_tokens: 0.18 }',
].join('\n');
const TOGETHER = VISION_TOGETHER;
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
    expect(call.body).toEqual(eyesBody([pictureTurn('what is in this picture?', [PHOTO_URL])]));
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

  it('edits an image attached to a flux mention (through Run): the edit model gets its link first, at the edit price', async () => {
    const month = new Date().toISOString().slice(0, 7);
    const hat = 'https://images.example.com/hat.png';
    const id = discord.sendMessage({
      content: `<@${discord.botId}> flux put this hat on the cat --image ${hat} --size 512x512 --seed 3`,
      mention: true,
      userId: USER,
      attachments: [photo],
    });
    // $0.035 is above this file's confirmation threshold: the attachment is kept through Run.
    const question = await waitFor('the confirmation', () =>
      discord.messages.find((m) => discord.buttonsOf(m.id).includes(`lorabot:run:discord-msg-${id}`)),
    );
    discord.pressButton({ messageId: question.id, customId: `lorabot:run:discord-msg-${id}`, userId: USER });
    const call = await waitFor('the Together call', () =>
      together
        .callsTo('/images/generations')
        .find((c) => (c.body as { prompt?: string }).prompt === 'put this hat on the cat'),
    );
    expect(call.schemaErrors).toEqual([]);
    expect(call.body).toEqual({
      model: 'black-forest-labs/FLUX.2-dev',
      prompt: 'put this hat on the cat',
      width: 512,
      height: 512,
      steps: 28,
      n: 1,
      seed: 3,
      response_format: (call.body as { response_format: string }).response_format,
      output_format: 'jpeg',
      reference_images: [PHOTO_URL, hat],
    });
    const cost = 'Cost: $0.035 (1 image × 1 MP × $0.035/MP)';
    // The status names the attachment as the link it is passed on as, first.
    const status = await waitFor('the status', () =>
      discord.messages.find((m) => m.content.includes('ran `/flux put this hat on the cat')),
    );
    expect(status.content).toContain(`--image ${PHOTO_URL} --image ${hat}`);
    const done = await waitFor('the completion notice', () =>
      discord.messages.find((m) => m.content.startsWith(`<@${USER}> Your image is ready`)),
    );
    expect(done.content).toBe(`<@${USER}> Your image is ready. ${cost}`);
    const entry = await waitFor('the ledger entry', async () =>
      (await h.running.workers!.ledgerView.entries(month)).find((e) => e.jobId === `discord-msg-${id}`),
    );
    expect(entry).toMatchObject({
      kind: 'flux',
      model: 'black-forest-labs/FLUX.2-dev',
      micros: 35_000,
      costText: cost,
    });
  });

  it('refuses a flux mention whose attachment is not a picture, and one with more images than the edit model takes', async () => {
    const calls = together.calls.length;
    const pdf = discord.sendMessage({
      content: `<@${discord.botId}> flux make it blue`,
      mention: true,
      userId: USER,
      attachments: [{ filename: 'notes.pdf', size: 30_000, contentType: 'application/pdf' }],
    });
    await expect(waitFor('the refusal', () => repliesTo(pdf)[0])).resolves.toBe(
      '`notes.pdf` is not a picture lorabot can read (application/pdf): attach a PNG, JPEG, WebP or GIF image. Nothing was queued.',
    );
    const links = [1, 2, 3, 4].map((n) => `--image https://images.example.com/${n}.png`).join(' ');
    const many = discord.sendMessage({
      content: `<@${discord.botId}> flux make it blue ${links}`,
      mention: true,
      userId: USER,
      attachments: [photo],
    });
    await expect(waitFor('the refusal', () => repliesTo(many)[0])).resolves.toBe(
      'The edit model (black-forest-labs/FLUX.2-dev) takes at most 4 images per request; you gave 5. Remove an `--image`.',
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(together.calls.length).toBe(calls);
  });

  it('"Edit with lorabot" on a message with a 50 MB image: refused privately before the editor opens', async () => {
    const calls = together.calls.length;
    const modals = discord.modals.length;
    const { id } = discord.sendMessageCommand({
      name: 'Edit with lorabot',
      userId: USER,
      attachments: [
        {
          filename: 'huge.png',
          contentType: 'image/png',
          size: 50 * 1024 * 1024,
          url: 'https://cdn.discordapp.com/attachments/1/9/huge.png',
        },
      ],
    });
    const answer = await waitFor('the private answer', () =>
      discord.messages.find((m) => m.interaction_id === id && (m.flags & 64) !== 0 && m.content !== ''),
    );
    expect(answer.content).toBe('`huge.png` is 50 MB; a picture can be at most 20 MB. Nothing was queued.');
    expect(discord.modals.length).toBe(modals);
    expect(together.calls.length).toBe(calls);
  });
});

describe('pictures in /ask on Slack', () => {
  let h: Harness;
  /** A 64×48 chart (one 560-pixel tile), shared on Slack: only the bot token reads it. */
  const CHART = renderImage({ width: 64, height: 48, seed: 4, format: 'png' });
  const CHART_DATA_URL = `data:image/png;base64,${CHART.toString('base64')}`;

  beforeAll(async () => {
    h = await startHarness({ configExtra: CONFIG, together: TOGETHER });
    h.together.imageSizes.set(CHART_DATA_URL, { width: 64, height: 48 });
  });

  afterAll(async () => {
    await h.close();
  });

  const callWith = (text: string) =>
    waitFor(`the Together call with "${text}"`, () =>
      h.together.callsTo('/chat/completions').find((c) => JSON.stringify(c.body).includes(text)),
    );
  const noticeIn = (parentTs: string, after: number) =>
    waitFor(
      'the completion notice',
      () =>
        h.slack
          .thread('C0VIS', parentTs)
          .filter((m) => m.text.startsWith('<@U0VIS> Your answer is ready.'))
          .at(after),
      20_000,
    );

  it('sends a file shared in the thread to the vision preset inline, downloaded with the bot token; a follow-up keeps it', async () => {
    const month = new Date().toISOString().slice(0, 7);
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
    const hosted = h.slack.hostFile(CHART, { name: 'chart.png' });
    const file = {
      id: hosted.id,
      name: hosted.name,
      mimetype: hosted.mimetype,
      size: hosted.size,
      url_private: hosted.url_private,
      original_w: 64,
      original_h: 48,
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
    const request = found!.data.request as { images?: unknown[]; earlierImages?: number };
    expect(request.images).toEqual([
      {
        kind: 'slack-file',
        url: file.url_private,
        name: 'chart.png',
        mimetype: 'image/png',
        bytes: CHART.length,
        width: 64,
        height: 48,
      },
    ]);
    expect(request.earlierImages).toBeUndefined();
    // The job carries the file as its marker (Together cannot read a Slack link); the worker downloads it with the
    // bot token and sends it inline.
    const messages = found!.data.body.messages as Array<{ content: unknown }>;
    expect(messages.at(-1)!.content).toEqual([
      { type: 'text', text: 'and this one?' },
      { type: 'image_url', image_url: { url: 'lorabot-source:0' } },
    ]);
    const call = await callWith('and this one?');
    expect(call.schemaErrors).toEqual([]);
    const history = [
      { role: 'user', content: 'what is a histogram?' },
      { role: 'assistant', content: 'You asked: what is a histogram?' },
      pictureTurn('and this one?', [CHART_DATA_URL]),
    ];
    expect(call.body).toEqual(eyesBody(history));
    expect(h.slack.fileDownloads.filter((d) => d.id === file.id)).toEqual([
      { id: file.id, token: h.slack.botToken, outcome: 'ok' },
    ]);
    // The fake counts words: 13 in the three turns, 5 in the echo; the chart is one tile, 1,601 tokens.
    // (1,614 × $0.60 + 5 × $0.80) / 1M = $0.0009724, rounded up to whole micro-dollars.
    const cost = 'Cost: $0.000973 (1 image ≈ 1,601 tokens + 13 in + 5 out tokens)';
    const done = await noticeIn(parent.ts, 1);
    expect(done.text).toBe(`<@U0VIS> Your answer is ready. ${cost}`);
    const entry = await waitFor('the ledger entry', async () =>
      (await h.running.workers!.ledgerView.entries(month)).find((e) => e.jobId === jobId),
    );
    expect(entry).toMatchObject({
      kind: 'ask',
      platform: 'slack',
      model: 'google/gemma-4-31B-it',
      micros: 973,
      costText: cost,
    });

    // A question after it, with no file: the chart's turn goes again (downloaded again: Slack's link needs the token).
    await h.say({ channelId: 'C0VIS', threadTs: parent.ts, userId: 'U0VIS', text: 'which bar is tallest?' });
    const next = await callWith('which bar is tallest?');
    expect(next.schemaErrors).toEqual([]);
    expect(next.body).toEqual(
      eyesBody([
        ...history,
        { role: 'assistant', content: 'You asked: and this one?' },
        { role: 'user', content: 'which bar is tallest?' },
      ]),
    );
    const again = await noticeIn(parent.ts, 2);
    expect(again.text).toMatch(
      /^<@U0VIS> Your answer is ready\. Cost: \$[\d.]+ \(1 image ≈ 1,601 tokens \+ \d+ in \+ \d+ out tokens\)$/,
    );
  });

  it('refuses a file that is not a picture, one over the cap, or a picture in a text-only conversation: privately, nothing queued', async () => {
    await h.slash({ channel_id: 'C0VIS2', user_id: 'U0VIS', command: '/ask', text: '--model eyes hello' });
    const parent = await waitFor(
      'the /ask',
      () => h.slack.parents('C0VIS2').find((m) => /Done/.test(m.text)),
      20_000,
    );
    const calls = h.together.calls.length;
    const cases = [
      {
        file: { id: 'F0PDF', name: 'notes.pdf', mimetype: 'application/pdf', size: 30_000 },
        said: '`notes.pdf` is not a picture lorabot can read (application/pdf): attach a PNG, JPEG, WebP or GIF image. Nothing was queued.',
      },
      {
        file: { id: 'F0HUGE', name: 'huge.png', mimetype: 'image/png', size: 50 * 1024 * 1024 },
        said: '`huge.png` is 50 MB; a picture can be at most 20 MB. Nothing was queued.',
      },
    ];
    for (const { file, said } of cases) {
      await h.say({
        channelId: 'C0VIS2',
        threadTs: parent.ts,
        userId: 'U0VIS',
        text: 'what about this?',
        subtype: 'file_share',
        files: [
          { ...file, url_private: `https://files.slack.com/files-pri/T0LORABOT-${file.id}/${file.name}` },
        ],
      });
      await waitFor(`the refusal of ${file.name}`, () =>
        h.slack.ephemerals.find((e) => e.channel === 'C0VIS2' && e.text === said),
      );
    }
    // A conversation on the text-only default preset: a picture in it is refused, naming the presets that read them
    // (Slack's escaping of `<` and `>` as the text is posted).
    await h.slash({ channel_id: 'C0VIS3', user_id: 'U0VIS', command: '/ask', text: 'hello' });
    const plain = await waitFor(
      'the /ask',
      () => h.slack.parents('C0VIS3').find((m) => /Done/.test(m.text)),
      20_000,
    );
    const textOnly = h.together.calls.length;
    const chart = h.slack.hostFile(CHART, { name: 'chart.png' });
    await h.say({
      channelId: 'C0VIS3',
      threadTs: plain.ts,
      userId: 'U0VIS',
      text: 'what about this?',
      subtype: 'file_share',
      files: [
        {
          id: chart.id,
          name: chart.name,
          mimetype: chart.mimetype,
          size: chart.size,
          url_private: chart.url_private,
        },
      ],
    });
    await waitFor('the refusal on a text-only preset', () =>
      h.slack.ephemerals.find(
        (e) =>
          e.channel === 'C0VIS3' &&
          e.text ===
            'This conversation uses the chat model `default`, which does not read pictures. Ask about the picture in a new question with a model that does, e.g. `/ask --model eyes &lt;question&gt;`. Models that read pictures: eyes, blind. Nothing was queued.',
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const [channel, ts] of [
      ['C0VIS2', parent.ts],
      ['C0VIS3', plain.ts],
    ] as const)
      expect(h.slack.thread(channel, ts).filter((m) => m.text.includes('ran /ask'))).toEqual([]);
    expect(h.together.calls.length).toBe(textOnly);
    expect(textOnly).toBe(calls + 1);
    expect(h.slack.fileDownloads.filter((d) => d.id === chart.id)).toEqual([]);
  });

  it('"Edit with lorabot" on a message with a 50 MB image: refused privately before the editor opens', async () => {
    const views = h.slack.views.length;
    const huge = {
      id: 'F0HUGEEDIT',
      name: 'huge.png',
      mimetype: 'image/png',
      size: 50 * 1024 * 1024,
      url_private: 'https://files.slack.com/files-pri/T0LORABOT-F0HUGEEDIT/huge.png',
    };
    const shortcut = await h.shortcut({
      callbackId: 'lorabot_edit_message',
      userId: 'U0VIS',
      channelId: 'C0VIS4',
      files: [huge],
    });
    expect(shortcut.status).toBe(200);
    const id = shortcut.responseUrl.split('/').pop();
    const answer = await waitFor('the private answer', () => h.slack.responses.find((r) => r.id === id));
    expect(answer.body.text).toBe('`huge.png` is 50 MB; a picture can be at most 20 MB. Nothing was queued.');
    expect(h.slack.views.length).toBe(views);
    expect(h.slack.fileDownloads.filter((d) => d.id === huge.id)).toEqual([]);
  });
});
