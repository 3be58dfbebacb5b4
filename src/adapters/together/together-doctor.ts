import type { DoctorCheck } from '../../core/doctor-check.js';
import { type ConfiguredModel, checkModels } from '../../core/model-checks.js';
import { TogetherClient } from './together-client.js';
import { TogetherError } from './together-error.js';

/** Together: the key works, and each configured model is listed, of the right type, at the configured price. */
export async function checkTogether(options: {
  apiKey: string | undefined;
  baseUrl: string;
  userAgent: string;
  models: ConfiguredModel[];
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
    userAgent: options.userAgent,
    retry: { maxRetries: 0 },
    timeouts: { chatMs: 15_000 },
  });
  try {
    const listed = await client.listModels();
    const known = new Set(listed.map((m) => m.id));
    if (options.models.some((m) => !known.has(m.id))) {
      // A dedicated endpoint's model may be listed only under Together's `dedicated` filter; if that query fails,
      // the model is reported as missing, which is what the operator must look into anyway.
      listed.push(...(await client.listModels({ dedicated: true }).catch(() => [])));
    }
    return [
      { level: 'OK', name: 'together', message: `key accepted by ${options.baseUrl}` },
      ...checkModels(listed, options.models),
    ];
  } catch (error) {
    const message = error instanceof TogetherError ? error.userMessage : String(error);
    return [{ level: 'FAIL', name: 'together', message }];
  } finally {
    await client.close();
  }
}
