import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TogetherClient } from '../../src/adapters/together/together-client.js';
import { TogetherError } from '../../src/adapters/together/together-error.js';
import { parseCommand } from '../../src/core/command-parser.js';
import type { CoreSettings } from '../../src/core/settings.js';
import { buildImageBody } from '../../src/core/together-bodies.js';
import { testSettings } from '../helpers/settings.js';
import { FakeTogether } from './fakes/fake-together.js';
import { sourceTint } from './fakes/fake-together-edits.js';
import { renderImage } from './fakes/test-images.js';

const DEV = 'black-forest-labs/FLUX.2-dev';
const KONTEXT = 'black-forest-labs/FLUX.1-kontext-pro';
const IMAGE = '/images/generations';
const CAT = 'https://example.com/cat.jpg';
const DOG = 'https://example.com/dog.jpg';

const settings = testSettings();
/** FLUX.1 Kontext [pro] as the edit model: one image through `image_url`. */
const kontext: CoreSettings = {
  ...settings,
  image: {
    ...settings.image,
    edit: { ...settings.image.edit, model: KONTEXT, input: 'image_url', maxImages: 1 },
  },
};

function editBody(text: string, with_ = settings): Record<string, unknown> {
  const parsed = parseCommand('flux', text, with_);
  if (!parsed.success || parsed.data.kind !== 'flux') throw new Error(`bad test command: ${text}`);
  return buildImageBody(parsed.data.request, with_.image) as unknown as Record<string, unknown>;
}

let fake: FakeTogether;
let client: TogetherClient;

beforeAll(async () => {
  fake = await new FakeTogether({ imageModels: [DEV, KONTEXT] }).start();
  client = new TogetherClient({
    baseUrl: fake.baseUrl,
    apiKey: fake.apiKey,
    retry: { maxRetries: 0 },
    sleep: async () => {},
  });
});

afterAll(async () => {
  await client.close();
  await fake.close();
});

async function refusal(body: Record<string, unknown>): Promise<TogetherError> {
  const calls = fake.callsTo(IMAGE).length;
  const error = await client.generateImages(body, { modelSetting: 'image.edit.model' }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(fake.callsTo(IMAGE)).toHaveLength(calls + 1);
  if (!(error instanceof TogetherError)) throw new Error('expected a TogetherError');
  return error;
}

describe('the fake Together: images made from images', () => {
  it('takes the bodies lorabot builds for both input kinds, schema-clean, and makes images derived from the sources', async () => {
    const dev = editBody(`make it night --image ${CAT} --image ${DOG} --size 256x256 --seed 5`);
    const one = await client.generateImages(dev);
    const call = fake.callsTo(IMAGE).at(-1)!;
    expect(call.schemaErrors).toEqual([]);
    expect(call.body).toMatchObject({ model: DEV, reference_images: [CAT, DOG] });
    const expected = renderImage({
      width: 256,
      height: 256,
      seed: 5 + sourceTint([CAT, DOG]),
      format: 'jpeg',
    });
    expect(Buffer.compare(Buffer.from(one.images[0]!.bytes), expected)).toBe(0);

    const kontextBody = editBody(`make it night --image ${CAT} --size 256x256 --seed 5`, kontext);
    const two = await client.generateImages(kontextBody);
    expect(fake.callsTo(IMAGE).at(-1)!.body).toMatchObject({ model: KONTEXT, image_url: CAT });
    expect(fake.callsTo(IMAGE).at(-1)!.schemaErrors).toEqual([]);
    // Another source, another image: a test can tell which source Together was given.
    expect(Buffer.compare(Buffer.from(two.images[0]!.bytes), Buffer.from(one.images[0]!.bytes))).not.toBe(0);
    expect(
      Buffer.compare(
        Buffer.from(two.images[0]!.bytes),
        renderImage({ width: 256, height: 256, seed: 5 + sourceTint([CAT]), format: 'jpeg' }),
      ),
    ).toBe(0);
  });

  it('refuses a field the model does not take, as an operator setting to change, never retried', async () => {
    // FLUX.2 [dev] takes only reference_images (Together's image-to-image page).
    const wrong = { ...editBody(`make it night --image ${CAT} --size 256x256`, kontext), model: DEV };
    const error = await refusal(wrong);
    expect(error).toMatchObject({ code: 'source_input_unsupported', status: 400, permanent: true });
    expect(error.userMessage).toBe(
      `The edit model \`${DEV}\` does not take source images as image_url (Together answered: image_url is not supported for model ${DEV}). ` +
        'An admin can set image.edit.input to reference_images, or image.edit.model to a model that takes image_url.',
    );
    const many = await refusal({
      ...editBody(`x --image ${CAT} --size 256x256`, kontext),
      image_url: undefined,
      reference_images: [CAT, DOG],
    });
    expect(many.code).toBe('source_input_unsupported');
  });

  it('refuses image_loras on an edit model that takes none, saying so', async () => {
    const { reference_images: _dropped, ...body } = editBody(
      `make it night --lora tarot --image ${CAT} --size 256x256`,
    );
    const error = await refusal({ ...body, model: KONTEXT, image_url: CAT });
    expect(error.code).toBe('loras_not_supported');
    expect(error.userMessage).toContain('does not take LoRAs');
  });

  it('plays an unreadable link and a source too large as clear failures the requester can fix, not retried', async () => {
    const gone = 'https://example.com/gone.jpg';
    const huge = 'https://example.com/huge.png';
    fake.failSource(gone, 'unreadable');
    fake.failSource(huge, 'too-large');
    const unreadable = await refusal(editBody(`x --image ${gone} --size 256x256`));
    expect(unreadable).toMatchObject({
      code: 'source_image_rejected',
      status: 400,
      retryLater: false,
      billed: false,
    });
    expect(unreadable.userMessage).toBe(
      `Together could not use the source image (Together answered: Failed to download image from URL ${gone}: HTTP 404). ` +
        'Check that each --image link opens a JPEG, PNG or WebP image without logging in and is not too large ' +
        '(a smaller or JPEG version helps), then try again.',
    );
    const large = await refusal(editBody(`x --image ${CAT} --image ${huge} --size 256x256`));
    expect(large.code).toBe('source_image_rejected');
    expect(large.userMessage).toContain('Input image is too large');
    const dataUrl = `data:image/png;base64,${Buffer.alloc(11 * 1024 * 1024).toString('base64')}`;
    const inline = await refusal({
      ...editBody(`x --image ${CAT} --size 256x256`),
      reference_images: [dataUrl],
    });
    expect(inline.code).toBe('source_image_rejected');
    expect(inline.userMessage).toMatch(/Input image is too large: \d+ bytes, the limit is 10485760/);
  });
});
