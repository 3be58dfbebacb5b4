import { describe, expect, it } from 'vitest';
import { downloadError } from '../../../src/adapters/together/download-error.js';
import { togetherErrorFromResponse } from '../../../src/adapters/together/http-status-error.js';
import { DEFAULT_RETRY_OPTIONS, decideRetry } from '../../../src/adapters/together/retry-policy.js';
import { type CallKind, TogetherError } from '../../../src/adapters/together/together-error.js';

const FLUX2 = 'black-forest-labs/FLUX.2-dev';
const OLD = 'black-forest-labs/FLUX.1-dev-lora';

function together(
  status: number,
  error: { message: string; type?: string; code?: string | null; param?: string | null },
  options: { kind?: CallKind; model?: string; modelSetting?: string; headers?: Record<string, string> } = {},
) {
  return togetherErrorFromResponse({
    kind: options.kind ?? 'image',
    status,
    headers: options.headers ?? {},
    bodyText: JSON.stringify({ error: { type: 'invalid_request_error', code: null, param: null, ...error } }),
    model: options.model ?? FLUX2,
    ...(options.modelSetting ? { modelSetting: options.modelSetting } : {}),
  });
}

function retried(error: TogetherError): boolean {
  return decideRetry({ error, retriesSoFar: 0, options: DEFAULT_RETRY_OPTIONS, random: 0, now: 0 }).retry;
}

describe('Together refusals only an admin can fix', () => {
  it('reads a model that refuses image_loras as such, names the way out, and never retries it', () => {
    const error = together(400, { message: 'image_loras is not supported' });
    expect(error.code).toBe('loras_not_supported');
    expect(error.userMessage).toBe(
      `This image model (\`${FLUX2}\`) does not take LoRAs on Together (Together answered: image_loras is not supported). ` +
        'Run the prompt without --lora, or an admin can set image.model to a LoRA-capable model, or to a ' +
        'dedicated endpoint that serves the model with LoRA adapters.',
    );
    expect(error.message).toContain(`image.model (${FLUX2}) does not take image_loras`);
    expect(error.permanent).toBe(true);
    expect(error.retryLater).toBe(false);
    expect(retried(error)).toBe(false);
  });

  it('also knows other wordings of the same refusal', () => {
    for (const message of [
      `Model ${FLUX2} does not support LoRAs`,
      'LoRA adapters are not available for serverless FLUX.2 models; use a dedicated endpoint',
    ]) {
      expect(together(400, { message }).code, message).toBe('loras_not_supported');
    }
    expect(together(400, { message: 'bad value', param: 'image_loras' }).code).toBe('bad_request');
  });

  it('leaves a LoRA that failed to load to the requester: their LoRA, not the model', () => {
    const error = together(400, {
      message: 'Failed to download LoRA weights from https://huggingface.co/someone/missing: not found',
    });
    expect(error.code).toBe('bad_request');
    expect(error.userMessage).toContain('Failed to download LoRA weights');
    expect(error.permanent).toBe(false);
  });

  it('reads "non-serverless" for a …-lora model id as a model that is gone, not as a LoRA refusal', () => {
    const error = together(
      400,
      {
        message: `Unable to access non-serverless model ${OLD}. Please visit https://api.together.ai/models/${OLD} to create and start a new dedicated endpoint for the model.`,
        code: 'model_not_available',
      },
      { model: OLD },
    );
    expect(error.code).toBe('model_unavailable');
    expect(error.userMessage).toMatch(
      new RegExp(`^The image model \`${OLD.replace(/\./g, '\\.')}\` is no longer served by Together \\(`),
    );
    expect(error.userMessage).toContain('An admin can set image.model to a model Together serves now');
    expect(error.message).toContain(`image.model (${OLD}) is not served by Together`);
    expect(retried(error)).toBe(false);
  });

  it('names the chat preset key for a chat model that is gone (404)', () => {
    const error = together(
      404,
      { message: 'Unable to access model acme/retired-chat.', code: 'model_not_available' },
      { kind: 'chat', model: 'acme/retired-chat', modelSetting: 'chat.models.fast.id' },
    );
    expect(error.code).toBe('model_unavailable');
    expect(error.userMessage).toContain('The chat model `acme/retired-chat` is no longer served by Together');
    expect(error.userMessage).toContain('set chat.models.fast.id');
    expect(error.message).toContain('chat.models.fast.id (acme/retired-chat)');
  });

  it('tells the organization what to enable on 403 third_party_data_sharing_blocked, for images and chat', () => {
    const body = {
      message: 'This model requires third-party data sharing to be enabled for your organization.',
      code: 'third_party_data_sharing_blocked',
    };
    const image = together(403, body);
    expect(image.code).toBe('data_sharing_blocked');
    expect(image.userMessage).toContain('"Allow my organization to use passthrough models" under Privacy');
    expect(image.userMessage).toContain('set image.model to another model');
    expect(image.userMessage).not.toContain('context length');
    const chat = together(403, body, {
      kind: 'chat',
      model: 'Qwen/Qwen3.8-Flash',
      modelSetting: 'chat.models.qwen.id',
    });
    expect(chat.code).toBe('data_sharing_blocked');
    expect(chat.userMessage).toContain('set chat.models.qwen.id');
    expect(retried(chat)).toBe(false);
  });

  it('never retries a permanent failure, even when the server says x-should-retry: true', () => {
    const error = together(
      401,
      { message: 'Invalid API key provided.', code: 'invalid_api_key' },
      {
        headers: { 'x-should-retry': 'true' },
      },
    );
    expect(error.code).toBe('unauthorized');
    expect(error.message).toContain('check TOGETHER_API_KEY');
    expect(retried(error)).toBe(false);
    const missing = new TogetherError({
      code: 'not_configured',
      kind: 'image',
      phase: 'connect',
      userMessage: 'no key',
      logMessage: 'TOGETHER_API_KEY is not set',
    });
    // Connect-phase failures are normally worth a later try; a missing key is not.
    expect(missing.retryLater).toBe(false);
    expect(retried(missing)).toBe(false);
  });
});

describe('image download failures', () => {
  const cdn = (status: number, bodyText = '') =>
    togetherErrorFromResponse({ kind: 'download', status, headers: {}, bodyText });

  it.each([403, 404, 410])(
    'reports HTTP %i from the CDN as a link that no longer works, without retrying',
    (status) => {
      const error = cdn(
        status,
        '<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>',
      );
      expect(error.code).toBe('download_failed');
      expect(error.userMessage).toBe(
        `Together made the image, but the bot could not download it: Together's image link no longer works (HTTP ${status}); ` +
          'its links expire after a short while. Try again. If it keeps happening, an admin can set ' +
          'image.response_format to base64 so images come inside the answer.',
      );
      expect(error.message).toContain('Request has expired');
      expect(retried(error)).toBe(false);
    },
  );

  it('reports a 5xx as the image server’s trouble and retries it', () => {
    const error = cdn(502);
    expect(error.userMessage).toBe(
      "Together made the image, but the bot could not download it: Together's image server answered HTTP 502. Try again shortly.",
    );
    expect(retried(error)).toBe(true);
  });

  it('words a size cap with the config key', () => {
    const error = downloadError({ problem: 'too_large', detail: 'x', maxBytes: 25 * 1024 * 1024 });
    expect(error.userMessage).toContain(
      "larger than the bot's download limit of 25 MB (together.download.max_bytes)",
    );
    expect(retried(error)).toBe(false);
  });
});
