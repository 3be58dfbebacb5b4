import { describe, expect, it } from 'vitest';
import { planCommand } from '../../../src/app/command-plan.js';
import { historyWithImages } from '../../../src/core/conversation.js';
import type { ConversationTurn } from '../../../src/core/jobs.js';
import { type ChatRates, chatRates, estimateChat, priceChat } from '../../../src/core/pricing.js';
import type { AcceptedCommand, ChatRequest, SourceImage } from '../../../src/core/requests.js';
import { buildChatBody } from '../../../src/core/together-bodies.js';
import { filesRefusal, imagesRefusal, imageTokens, withAttachments } from '../../../src/core/vision.js';
import { testSettings, visionSettings } from '../../helpers/settings.js';

const rates: ChatRates = chatRates(
  { kind: 'per-token', inputMicrosPerMTokens: 600_000, outputMicrosPerMTokens: 800_000 },
  'm',
  undefined,
);

const photo = (n: number, size?: { width: number; height: number }): SourceImage & { url: string } => ({
  kind: 'link',
  url: `https://cdn.discordapp.com/attachments/1/${n}/photo${n}.png`,
  name: `photo${n}.png`,
  mimetype: 'image/png',
  bytes: 50_000,
  ...size,
});

describe('image tokens (Together tile rule)', () => {
  it('counts 1,601 tokens per 560-pixel tile, at most 2 × 2, and the most when the size is unknown', () => {
    expect(imageTokens({ width: 559, height: 559 })).toBe(1601);
    expect(imageTokens({ width: 1024, height: 400 })).toBe(3202);
    expect(imageTokens({ width: 300, height: 900 })).toBe(3202);
    expect(imageTokens({ width: 4000, height: 3000 })).toBe(6404);
    expect(imageTokens({})).toBe(6404);
  });
});

describe('vision bodies', () => {
  it('sends a question with pictures as a text part then one image_url part per picture', () => {
    const model = visionSettings().chat.models.eyes!;
    const body = buildChatBody('what is this?', model, {
      images: ['https://x.example/a.png', 'lorabot-source:1'],
    });
    expect(body.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'what is this?' },
          { type: 'image_url', image_url: { url: 'https://x.example/a.png' } },
          { type: 'image_url', image_url: { url: 'lorabot-source:1' } },
        ],
      },
    ]);
  });

  it('plans a Discord link as itself and a Slack file as its marker, and estimates the images by their tiles', () => {
    const settings = visionSettings();
    const slack: SourceImage = { kind: 'slack-file', url: 'https://files.slack.com/files-pri/T1-F1/a.png' };
    const request: ChatRequest = {
      question: 'compare',
      model: 'eyes',
      images: [photo(1, { width: 500, height: 400 }), slack],
    };
    const plan = planCommand({ kind: 'ask', request, notices: [] }, settings);
    expect(plan.body).toEqual({
      model: 'google/gemma-4-31B-it',
      max_tokens: 500,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'compare' },
            { type: 'image_url', image_url: { url: photo(1).url } },
            { type: 'image_url', image_url: { url: 'lorabot-source:1' } },
          ],
        },
      ],
    });
    // 1,601 (500×400: one tile) + 6,404 (size unknown) image tokens; 'compare' is 7 bytes + 16 template tokens.
    expect(plan.estimate.text).toBe(
      'Cost: at most $0.005217 (2 images ≈ 8,005 tokens + up to 23 in + 500 out tokens)',
    );
    // (8,028 × $0.60 + 500 × $0.80) / 1M, rounded up to a whole micro-dollar.
    expect(plan.estimate.micros).toBe(5217);
  });
});

describe('vision cost line', () => {
  it('shows the images apart from the text tokens, charging every reported input token', () => {
    const cost = priceChat(
      { promptTokens: 1601 + 123, completionTokens: 177, images: { count: 1, tokens: 1601 } },
      rates,
    );
    // (1,724 × $0.60 + 177 × $0.80) / 1M
    expect(cost).toEqual({
      priced: true,
      micros: 1176,
      text: 'Cost: $0.001176 (1 image ≈ 1,601 tokens + 123 in + 177 out tokens)',
    });
  });

  it('never shows more image tokens than Together reported as input', () => {
    const cost = priceChat(
      { promptTokens: 3000, completionTokens: 10, images: { count: 1, tokens: 6404 } },
      rates,
    );
    expect(cost.text).toBe('Cost: $0.001808 (1 image ≈ 6,404 tokens + 0 in + 10 out tokens)');
  });

  it('estimates without images as before', () => {
    expect(estimateChat({ messages: ['hi'], maxTokens: 10 }, rates).text).toBe(
      'Cost: at most $0.000019 (up to 18 in + 10 out tokens)',
    );
  });
});

describe('pictures in a conversation', () => {
  const turn = (content: string, images?: SourceImage[]): ConversationTurn[] => [
    { role: 'user', content, userId: 'U1', model: 'eyes', ...(images ? { images } : {}) },
    { role: 'assistant', content: `about ${content}` },
  ];

  it('re-sends earlier pictures with their turns, indexed from 0 in order', () => {
    const turns = [...turn('first', [photo(1)]), ...turn('second')];
    const history = historyWithImages(turns, 4);
    expect(history.images).toEqual([photo(1)]);
    expect(history.dropped).toBe(0);
    expect(history.messages[0]).toEqual({
      role: 'user',
      content: [
        { type: 'text', text: 'first' },
        { type: 'image_url', image_url: { url: photo(1).url } },
      ],
    });
    expect(history.messages[2]).toEqual({ role: 'user', content: 'second' });
  });

  it('keeps the newest pictures within the room left, the oldest left out first', () => {
    const turns = [...turn('a', [photo(1), photo(2)]), ...turn('b', [photo(3)]), ...turn('c', [photo(4)])];
    const history = historyWithImages(turns, 2);
    expect(history.images).toEqual([photo(3), photo(4)]);
    expect(history.dropped).toBe(2);
    expect(history.messages[0]).toEqual({ role: 'user', content: 'a' });
    expect(history.messages[2]!.content).toEqual([
      { type: 'text', text: 'b' },
      { type: 'image_url', image_url: { url: photo(3).url } },
    ]);
    expect(historyWithImages(turns, 0).images).toEqual([]);
  });

  it('plans a follow-up with earlier pictures first and its own after them', () => {
    const settings = visionSettings();
    const history = historyWithImages(turn('first', [photo(1)]), 3);
    const request: ChatRequest = {
      question: 'and now?',
      model: 'eyes',
      images: [...history.images, photo(2)],
      earlierImages: history.images.length,
    };
    const plan = planCommand({ kind: 'ask', request, notices: [] }, settings, history.messages);
    const messages = plan.body.messages as Array<{ content: unknown }>;
    expect(messages.at(-1)!.content).toEqual([
      { type: 'text', text: 'and now?' },
      { type: 'image_url', image_url: { url: photo(2).url } },
    ]);
    expect(plan.estimate.text).toMatch(/^Cost: at most \$[\d.]+ \(2 images ≈ 12,808 tokens \+ up to /);
  });
});

describe('which pictures a question may carry', () => {
  const ask = (images: SourceImage[], model = 'eyes'): ChatRequest => ({ question: 'q', model, images });

  it('refuses a text-only preset, naming the presets that read pictures', () => {
    const refusal = imagesRefusal(ask([photo(1)], 'default'), visionSettings(), { inConversation: false });
    expect(refusal).toBe(
      'The chat model `default` does not read pictures. Ask again with one that does, e.g. `/ask --model eyes <question>`. Models that read pictures: eyes. Nothing was queued.',
    );
    const none = imagesRefusal(ask([photo(1)], 'default'), testSettings(), { inConversation: false });
    expect(none).toContain('none of lorabot');
    expect(imagesRefusal(ask([photo(1)], 'default'), visionSettings(), { inConversation: true })).toMatch(
      /^This conversation uses the chat model `default`/,
    );
  });

  it('refuses attached files that are not pictures or are over the cap, for any command', () => {
    const settings = visionSettings();
    const zip: SourceImage = { kind: 'link', url: 'https://cdn.discordapp.com/a/x.zip', name: 'x.zip' };
    expect(filesRefusal([photo(1), zip], settings)).toBe(
      '`x.zip` is not a picture lorabot can read: attach a PNG, JPEG, WebP or GIF image. Nothing was queued.',
    );
    const upload: SourceImage = {
      kind: 'stored',
      token: 'A'.repeat(43),
      mimetype: 'image/png',
      bytes: 21 * 1024 * 1024,
    };
    expect(filesRefusal([upload], settings)).toBe(
      'That file is 21 MB; a picture can be at most 20 MB. Nothing was queued.',
    );
    expect(filesRefusal([photo(1), { ...upload, bytes: 1000 }], settings)).toBeUndefined();
    expect(filesRefusal(undefined, settings)).toBeUndefined();
  });

  it('refuses a file that is not a picture, one over the cap, and more pictures than the cap', () => {
    const settings = visionSettings();
    const pdf: SourceImage = {
      kind: 'link',
      url: 'https://cdn.discordapp.com/a/notes.pdf',
      name: 'notes.pdf',
      mimetype: 'application/pdf',
    };
    expect(imagesRefusal(ask([pdf]), settings, { inConversation: false })).toBe(
      '`notes.pdf` is not a picture lorabot can read (application/pdf): attach a PNG, JPEG, WebP or GIF image. Nothing was queued.',
    );
    const huge = { ...photo(1), bytes: 50 * 1024 * 1024 };
    expect(imagesRefusal(ask([huge]), settings, { inConversation: false })).toBe(
      '`photo1.png` is 50 MB; a picture can be at most 20 MB. Nothing was queued.',
    );
    const five = [1, 2, 3, 4, 5].map((n) => photo(n));
    expect(imagesRefusal(ask(five), settings, { inConversation: false })).toBe(
      'This question carries 5 pictures; lorabot sends at most 4 with one question. Nothing was queued.',
    );
    expect(imagesRefusal(ask(five.slice(0, 4)), settings, { inConversation: false })).toBeUndefined();
  });

  it('checks only the question’s own pictures, and adds attachments: a question’s last, an image request’s first', () => {
    const settings = visionSettings();
    const carried: ChatRequest = {
      ...ask([photo(1), photo(2), photo(3), photo(4), photo(5)]),
      earlierImages: 4,
    };
    expect(imagesRefusal(carried, settings, { inConversation: true })).toBeUndefined();
    const flux: AcceptedCommand = {
      kind: 'flux',
      request: { prompt: 'p', loras: [], width: 512, height: 512, steps: 1, n: 1 },
      notices: [],
    };
    expect(withAttachments(flux, undefined)).toBe(flux);
    const linked = { ...flux, request: { ...flux.request, images: [photo(2)] } };
    const edit = withAttachments(linked, [photo(1)]);
    expect(edit.kind === 'flux' && edit.request.images).toEqual([photo(1), photo(2)]);
    const question = withAttachments({ kind: 'ask', request: ask([photo(1)]), notices: [] }, [photo(2)]);
    expect(question.kind === 'ask' && question.request.images).toEqual([photo(1), photo(2)]);
  });
});
