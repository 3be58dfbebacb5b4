import type { DoctorCheck } from '../../doctor-check.js';
import { TogetherClient } from './together-client.js';
import { TogetherError } from './together-error.js';

/** Together: the key works, and the configured models are served. */
export async function checkTogether(options: {
  apiKey: string | undefined;
  baseUrl: string;
  imageModel: string;
  chatModels: string[];
}): Promise<DoctorCheck[]> {
  if (!options.apiKey) {
    return [
      {
        level: 'FAIL',
        name: 'together',
        message: 'TOGETHER_API_KEY is not set: create a key at api.together.ai and set it',
      },
    ];
  }
  const client = new TogetherClient({
    baseUrl: options.baseUrl,
    apiKey: options.apiKey,
    retry: { maxRetries: 0 },
    timeouts: { chatMs: 15_000 },
  });
  try {
    const models = new Set(await client.listModels());
    const checks: DoctorCheck[] = [
      { level: 'OK', name: 'together', message: `key accepted by ${options.baseUrl}` },
    ];
    for (const [setting, id] of [
      ['image.model', options.imageModel] as const,
      ...options.chatModels.map((m) => ['chat.models', m] as const),
    ]) {
      checks.push(
        models.has(id)
          ? { level: 'OK', name: 'together', message: `model ${id} is served` }
          : {
              level: 'WARN',
              name: 'together',
              message: `model ${id} is not in Together's model list (deprecated, or a dedicated endpoint?): check ${setting}`,
            },
      );
    }
    return checks;
  } catch (error) {
    const message = error instanceof TogetherError ? error.userMessage : String(error);
    return [{ level: 'FAIL', name: 'together', message }];
  } finally {
    await client.close();
  }
}
