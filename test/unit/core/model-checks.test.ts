import { describe, expect, it } from 'vitest';
import { type ConfiguredModel, checkModels, configuredModels } from '../../../src/core/model-checks.js';
import type { ListedModel } from '../../../src/core/pricing.js';
import { testSettings } from '../../helpers/settings.js';

const FLUX: ListedModel = { id: 'black-forest-labs/FLUX.2-dev', type: 'image', pricing: { base: 0.02 } };
const LLAMA: ListedModel = {
  id: 'meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo',
  type: 'chat',
  pricing: { input: 0.18, output: 0.18, hourly: 0, base: 0, finetune: 0 },
};

const image: ConfiguredModel = {
  setting: 'image.model',
  id: FLUX.id,
  use: 'image',
  pricing: {
    kind: 'per-megapixel',
    microsPerMegapixel: 35_000,
    megapixelPixels: 1e6,
    rounding: 'up',
    stepScaling: null,
  },
};
const chat = (pricing: ConfiguredModel['pricing'], id = LLAMA.id): ConfiguredModel => ({
  setting: 'chat.models.default',
  id,
  use: 'chat',
  pricing,
});
const perToken = (input: number, output: number): ConfiguredModel['pricing'] => ({
  kind: 'per-token',
  inputMicrosPerMTokens: input,
  outputMicrosPerMTokens: output,
});

describe('lorabot doctor: configured models against Together’s list', () => {
  it('names the image model and every chat preset with the key that sets it', () => {
    const models = configuredModels(testSettings());
    expect(models.map((m) => [m.setting, m.use])).toEqual([
      ['image.model', 'image'],
      ['chat.models.default', 'chat'],
      ['chat.models.support', 'chat'],
    ]);
  });

  it('checks the edit model too when it is another model than image.model', () => {
    const settings = testSettings();
    const kontext = 'black-forest-labs/FLUX.1-kontext-pro';
    const models = configuredModels({
      ...settings,
      image: { ...settings.image, edit: { ...settings.image.edit, model: kontext } },
    });
    expect(models.slice(0, 2).map((m) => [m.setting, m.id, m.use])).toEqual([
      ['image.model', 'black-forest-labs/FLUX.2-dev', 'image'],
      ['image.edit.model', kontext, 'image'],
    ]);
    const [missing] = checkModels([FLUX, LLAMA], [models[1]!]);
    expect(missing).toMatchObject({ level: 'FAIL' });
    expect(JSON.stringify(missing)).toContain('image.edit.model');
  });

  it('passes listed models of the right type, saying what was compared', () => {
    const checks = checkModels([FLUX, LLAMA], [image, chat(perToken(180_000, 180_000))]);
    expect(checks).toEqual([
      {
        level: 'OK',
        name: 'together',
        message:
          "model black-forest-labs/FLUX.2-dev (image.model) is listed as image; price not compared (Together's " +
          'list gives no unit for image prices): check it against your bill',
      },
      {
        level: 'OK',
        name: 'together',
        message:
          'model meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo (chat.models.default) is listed as chat; configured ' +
          "price matches Together's list ($0.18 in / $0.18 out per 1M tokens)",
      },
    ]);
  });

  it('fails a model Together does not list, naming the key to change', () => {
    const [imageCheck, chatCheck] = checkModels(
      [LLAMA],
      [{ ...image, id: 'black-forest-labs/FLUX.1-dev-lora' }, chat(null, 'acme/gone')],
    );
    expect(imageCheck).toEqual({
      level: 'FAIL',
      name: 'together',
      message:
        "model black-forest-labs/FLUX.1-dev-lora is not in Together's model list (deprecated, misspelt, or a " +
        'dedicated endpoint that is gone): set image.model to a listed image model, e.g. black-forest-labs/FLUX.2-dev',
    });
    expect(chatCheck!.level).toBe('FAIL');
    expect(chatCheck!.message).toContain('set chat.models.default.id to a listed chat model');
  });

  it('warns instead of failing for an adapter on a dedicated endpoint, which the list cannot show', () => {
    const [check] = checkModels([], [chat({ kind: 'per-minute' }, 'acme-endpoint:support-adapter')]);
    expect(check!.level).toBe('WARN');
    expect(check!.message).toMatch(
      /endpoint:adapter.*check that the endpoint is running, or change chat\.models\.default\.id/,
    );
  });

  it('fails a model of the wrong type, and warns for a code model used for chat', () => {
    const checks = checkModels(
      [FLUX, LLAMA, { id: 'acme/coder', type: 'code' }, { id: 'acme/embed', type: 'embedding' }],
      [
        { ...image, id: LLAMA.id },
        chat(null, FLUX.id),
        chat(perToken(1, 1), 'acme/coder'),
        chat(perToken(1, 1), 'acme/embed'),
      ],
    );
    expect(checks.map((c) => [c.level, c.message.split(':')[0]])).toEqual([
      ['FAIL', `model ${LLAMA.id} is listed as a chat model, not an image model`],
      ['FAIL', `model ${FLUX.id} is listed as an image model, not a chat model`],
      ['WARN', 'chat.models.default.pricing is not set'],
      ['WARN', 'model acme/coder is listed as a code model, not a chat model'],
      ['FAIL', 'model acme/embed is listed as an embedding model, not a chat model'],
    ]);
    expect(checks[0]!.message).toMatch(/set image\.model to one$/);
  });

  it('warns when the configured chat price differs from the listed one, showing both', () => {
    const [check] = checkModels([LLAMA], [chat(perToken(100_000, 200_000))]);
    expect(check).toEqual({
      level: 'WARN',
      name: 'together',
      message:
        'chat.models.default.pricing: configured $0.10 in / $0.20 out per 1M tokens, Together lists $0.18 in / ' +
        '$0.18 out per 1M tokens for meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo (compared: pricing.input and ' +
        'pricing.output of GET /v1/models, USD per 1M tokens): update chat.models.default.pricing, or set it to auto',
    });
  });

  it('checks auto pricing against what Together lists, and leaves dedicated endpoints billed per minute alone', () => {
    const unpriced: ListedModel = { id: 'acme/new', type: 'chat', pricing: { input: 0, output: 0 } };
    const checks = checkModels(
      [LLAMA, unpriced, { id: 'acme/endpoint', type: 'chat' }],
      [
        chat({ kind: 'auto' }),
        chat({ kind: 'auto' }, 'acme/new'),
        chat({ kind: 'per-minute' }, 'acme/endpoint'),
      ],
    );
    expect(checks.map((c) => c.level)).toEqual(['OK', 'WARN', 'OK']);
    expect(checks[0]!.message).toMatch(
      /priced from Together's list: \$0\.18 in \/ \$0\.18 out per 1M tokens$/,
    );
    expect(checks[1]!.message).toMatch(
      /is auto, but Together lists no per-token price for acme\/new.*Cost: unknown/,
    );
    expect(checks[2]!.message).toMatch(/billed per minute of endpoint uptime/);
  });
});
