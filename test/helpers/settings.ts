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
