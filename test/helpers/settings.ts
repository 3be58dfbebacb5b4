import { DEFAULT_FILE_CONFIG, loadConfig, mergeConfig } from '../../src/config/index.js';
import type { CoreSettings } from '../../src/core/settings.js';

/** The built-in settings plus two presets the grammar tests use (one with a trigger phrase). */
export function testSettings(): CoreSettings {
  const result = loadConfig({ env: {}, cwd: '/nonexistent-lorabot-test-dir' });
  if (!result.success) throw new Error(result.error.message);
  const core = result.data.core;
  return {
    ...core,
    loras: {
      ...core.loras,
      realism: { name: 'realism', url: 'https://huggingface.co/XLabs-AI/flux-RealismLora', scale: 0.8 },
      blacklight: {
        name: 'blacklight',
        url: 'https://huggingface.co/owner/blacklight/resolve/main/blacklight.safetensors',
        trigger: 'a BLKLGHT image of',
        scale: 0.9,
      },
    },
    chat: {
      ...core.chat,
      models: {
        ...core.chat.models,
        support: {
          name: 'support',
          id: 'acme/Meta-Llama-3.1-8B-Instruct-support-lora',
          systemPrompt: 'You answer questions about Acme.',
          maxTokens: 512,
          pricing: { kind: 'per-token', inputMicrosPerMTokens: 180_000, outputMicrosPerMTokens: 180_000 },
        },
      },
    },
  };
}

export { DEFAULT_FILE_CONFIG, mergeConfig };

/** The test settings plus a vision preset `eyes` (reads pictures) and a cap of 4 pictures, 20 MiB each. */
export function visionSettings(): CoreSettings {
  const base = testSettings();
  return {
    ...base,
    chat: {
      ...base.chat,
      maxImages: 4,
      maxImageBytes: 20 * 1024 * 1024,
      models: {
        ...base.chat.models,
        eyes: {
          name: 'eyes',
          id: 'google/gemma-4-31B-it',
          maxTokens: 500,
          pricing: { kind: 'per-token', inputMicrosPerMTokens: 600_000, outputMicrosPerMTokens: 800_000 },
          vision: true,
        },
      },
    },
  };
}
