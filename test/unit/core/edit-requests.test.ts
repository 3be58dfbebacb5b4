import { describe, expect, it } from 'vitest';
import { planCommand } from '../../../src/app/command-plan.js';
import { formatChatCommand, formatImageCommand } from '../../../src/core/command-format.js';
import { parseCommand } from '../../../src/core/command-parser.js';
import { imageModelFor } from '../../../src/core/edit-model.js';
import type { ImageJobData } from '../../../src/core/jobs.js';
import { recipeText } from '../../../src/core/recipe.js';
import type { AcceptedCommand, ImageRequest } from '../../../src/core/requests.js';
import type { CoreSettings } from '../../../src/core/settings.js';
import { MAX_IMAGE_LINK_CHARS } from '../../../src/core/source-link.js';
import { buildImageBody } from '../../../src/core/together-bodies.js';
import { testSettings } from '../../helpers/settings.js';

const settings = testSettings();

/** An operator's FLUX.1 Kontext [pro]: one image through `image_url`, no LoRAs, $0.04 per megapixel. */
const kontext: CoreSettings = {
  ...settings,
  image: {
    ...settings.image,
    edit: {
      model: 'black-forest-labs/FLUX.1-kontext-pro',
      input: 'image_url',
      maxImages: 1,
      loras: false,
      handsOffSources: true,
      pricing: {
        kind: 'per-megapixel',
        microsPerMegapixel: 40_000,
        megapixelPixels: 1_000_000,
        rounding: 'up',
        stepScaling: null,
      },
    },
  },
};

function flux(text: string, with_ = settings): ImageRequest {
  const parsed = parseCommand('flux', text, with_);
  if (!parsed.success) throw new Error(parsed.error.message);
  if (parsed.data.kind !== 'flux') throw new Error(`not a /flux request: ${text}`);
  return parsed.data.request;
}

function refusal(text: string, with_ = settings, command: 'flux' | 'ask' = 'flux') {
  const parsed = parseCommand(command, text, with_);
  if (parsed.success) throw new Error(`accepted: ${text}`);
  return parsed.error;
}

describe('--image: the grammar', () => {
  it('collects each --image link in order, on /flux and on /ask', () => {
    const request = flux(
      'make it blue --image https://example.com/a.jpg --image=https://cdn.example.org/b.png',
    );
    expect(request.prompt).toBe('make it blue');
    expect(request.images).toEqual([
      { kind: 'link', url: 'https://example.com/a.jpg' },
      { kind: 'link', url: 'https://cdn.example.org/b.png' },
    ]);
    const ask = parseCommand('ask', 'what is in this picture? --image https://example.com/a.jpg', settings);
    expect(ask).toMatchObject({
      success: true,
      data: { kind: 'ask', request: { question: 'what is in this picture?', images: [{ kind: 'link' }] } },
    });
    expect(flux('a cat').images).toBeUndefined();
  });

  it('accepts up to image.edit.max_images links and refuses one more, saying the limit', () => {
    const links = (count: number) =>
      Array.from({ length: count }, (_, i) => `--image https://example.com/${i}.jpg`).join(' ');
    expect(settings.image.edit.maxImages).toBe(4);
    expect(flux(`mix these ${links(4)}`).images).toHaveLength(4);
    expect(refusal(`mix these ${links(5)}`)).toEqual({
      code: 'too_many_images',
      message:
        'The edit model (black-forest-labs/FLUX.2-dev) takes at most 4 images per request; you gave 5. Remove an `--image`.',
    });
    expect(refusal(`mix these ${links(2)}`, kontext).message).toBe(
      'The edit model (black-forest-labs/FLUX.1-kontext-pro) takes one image per request; you gave 2. Remove an `--image`.',
    );
  });

  it('refuses http, credentials, non-links and over-long links with what to do instead', () => {
    expect(refusal('a cat --image http://example.com/a.jpg')).toMatchObject({
      code: 'image_link_not_https',
      message: expect.stringContaining('Use the https:// link instead'),
    });
    expect(refusal('a cat --image https://me:secret@example.com/a.jpg')).toMatchObject({
      code: 'image_link_credentials',
    });
    expect(refusal('a cat --image https://me:secret@example.com/a.jpg').message).not.toContain('secret');
    expect(refusal('a cat --image cat.jpg').code).toBe('image_link_invalid');
    expect(refusal('a cat --image').code).toBe('missing_value');
    const long = `https://example.com/${'a'.repeat(MAX_IMAGE_LINK_CHARS)}`;
    expect(refusal(`a cat --image ${long}`)).toMatchObject({
      code: 'image_link_too_long',
      message: expect.stringContaining('the limit is 2,048'),
    });
    expect(refusal('what is this? --image ftp://example.com/a.jpg', settings, 'ask').code).toBe(
      'image_link_not_https',
    );
    expect(refusal('what is this? --image http://example.com/a.jpg', settings, 'ask').code).toBe(
      'image_link_not_https',
    );
  });

  it("undoes Slack's link wrapping and entities", () => {
    expect(flux('a --image <https://example.com/a.jpg?w=1&amp;h=2|a.jpg>').images).toEqual([
      { kind: 'link', url: 'https://example.com/a.jpg?w=1&h=2' },
    ]);
    expect(flux('a --image <https://example.com/b.png>').images).toEqual([
      { kind: 'link', url: 'https://example.com/b.png' },
    ]);
  });

  it('refuses --lora with --image when the edit model takes no LoRAs, and keeps them when it does', () => {
    expect(refusal('a cat --lora tarot --image https://example.com/a.jpg', kontext)).toMatchObject({
      code: 'edit_without_loras',
      message: expect.stringContaining('does not take LoRAs'),
    });
    expect(flux('a cat --lora tarot --image https://example.com/a.jpg').loras).toHaveLength(1);
    // Without --image, the image model (which takes LoRAs) is used whatever the edit model takes.
    expect(flux('a cat --lora tarot', kontext).loras).toHaveLength(1);
  });

  it('writes --image back, so the command shown parses to the same request', () => {
    const request = flux('a cat --image https://example.com/a.jpg --seed 3');
    const text = formatImageCommand(request, settings);
    expect(text).toBe('/flux a cat --seed 3 --image https://example.com/a.jpg');
    expect(flux(text.replace(/^\/flux /, ''))).toEqual(request);
    const ask = parseCommand('ask', '-- what does --image do?', settings);
    expect(ask.success).toBe(true);
    if (ask.success && ask.data.kind === 'ask') {
      const asked = {
        ...ask.data.request,
        images: [{ kind: 'link' as const, url: 'https://example.com/a.jpg' }],
      };
      expect(formatChatCommand(asked, settings)).toBe(
        '/ask --image https://example.com/a.jpg -- what does --image do?',
      );
    }
  });
});

describe('--image: the body and the price', () => {
  it('sends FLUX.2 [dev] the sources as reference_images, LoRAs kept, at the edit price', () => {
    const request = flux(
      'make it night --lora tarot --image https://example.com/a.jpg --image https://example.com/b.jpg',
    );
    expect(buildImageBody(request, settings.image)).toEqual({
      model: 'black-forest-labs/FLUX.2-dev',
      prompt: 'in the style of TOK a trtcrd tarot style, make it night',
      width: 1000,
      height: 1000,
      steps: 28,
      n: 1,
      response_format: 'base64',
      output_format: 'jpeg',
      image_loras: [{ path: 'https://huggingface.co/multimodalart/flux-tarot-v1', scale: 1 }],
      reference_images: ['https://example.com/a.jpg', 'https://example.com/b.jpg'],
    });
  });

  it('sends an image_url model the one source as image_url, on the edit model, priced at its price', () => {
    const command: AcceptedCommand = {
      kind: 'flux',
      request: flux('make it night --image https://example.com/a.jpg --size 1024x768', kontext),
      notices: [],
    };
    const plan = planCommand(command, kontext);
    expect(plan.body).toMatchObject({
      model: 'black-forest-labs/FLUX.1-kontext-pro',
      image_url: 'https://example.com/a.jpg',
    });
    expect(plan.body).not.toHaveProperty('reference_images');
    expect(plan.estimate).toMatchObject({ micros: 40_000, text: 'Cost: $0.04 (1 image × 1 MP × $0.04/MP)' });
    expect(plan.command).toBe('/flux make it night --size 1024x768 --image https://example.com/a.jpg');
    // The same prompt without --image stays on the image model and its price.
    const plain = planCommand({ ...command, request: flux('make it night', kontext) }, kontext);
    expect(plain.body).toMatchObject({ model: 'black-forest-labs/FLUX.2-dev' });
    expect(plain.body).not.toHaveProperty('image_url');
    expect(plain.estimate.text).toBe('Cost: $0.035 (1 image × 1 MP × $0.035/MP)');
  });

  it('writes a source that is not a link as its marker, for the worker to resolve', () => {
    const request: ImageRequest = {
      ...flux('make it night --image https://example.com/a.jpg'),
      images: [
        { kind: 'link', url: 'https://example.com/a.jpg' },
        { kind: 'slack-file', url: 'https://files.slack.com/files-pri/T1-F1/cat.png' },
        { kind: 'result', jobId: '42', index: 0 },
      ],
    };
    expect(buildImageBody(request, settings.image).reference_images).toEqual([
      'https://example.com/a.jpg',
      'lorabot-source:1',
      'lorabot-source:2',
    ]);
    expect(imageModelFor(request, settings.image).setting).toBe('image.edit.model');
    expect(imageModelFor({}, settings.image).setting).toBe('image.model');
  });

  it('hints at a cheaper size from the edit price, not the image price', () => {
    const parsed = parseCommand('flux', 'a cat --image https://example.com/a.jpg --size 1024x1024', kontext);
    expect(parsed).toMatchObject({
      success: true,
      data: { notices: ['1024x1024 is billed as 2 MP; 1000x1000 costs $0.04 instead of $0.08.'] },
    });
  });
});

describe('--image: the recipe', () => {
  it('Details lists the source images: a link as itself, a Slack file by name, a result by its job', () => {
    const request: ImageRequest = {
      ...flux('make it night --image https://example.com/a.jpg'),
      images: [
        { kind: 'link', url: 'https://example.com/a.jpg' },
        { kind: 'slack-file', url: 'https://files.slack.com/files-pri/T1-F1/cat.png', name: 'cat.png' },
        { kind: 'result', jobId: '42', index: 1 },
      ],
    };
    const data = {
      kind: 'flux',
      request,
      body: buildImageBody(request, settings.image),
    } as unknown as ImageJobData;
    expect(recipeText('7', data, 'black-forest-labs/FLUX.2-dev')).toContain(
      'Source images: https://example.com/a.jpg, a Slack file (cat.png), image 2 of job 42',
    );
    expect(recipeText('7', { ...data, request: flux('a cat') }, 'm')).not.toContain('Source images');
  });
});
