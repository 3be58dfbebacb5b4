import { expect } from 'vitest';

/** The built-in chat model, and a `support` model with its own system prompt, token limit and price. */
export const CHAT_MODELS = [
  'chat:',
  '  models:',
  '    default:',
  '      id: meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo',
  '      system_prompt: You are a helpful assistant in a team chat. Answer briefly and clearly.',
  '      max_tokens: 1024',
  '      pricing: { input_usd_per_m_tokens: 0.18, output_usd_per_m_tokens: 0.18 }',
  '    support:',
  '      id: acme/Meta-Llama-3.1-8B-Instruct-support-lora',
  '      system_prompt: You answer questions about Acme.',
  '      max_tokens: 256',
  '      description: Acme support',
  '      pricing: { input_usd_per_m_tokens: 1, output_usd_per_m_tokens: 2 }',
];

/** Checks a cost line against the `support` model's price: $1 per 1M tokens in, $2 out. */
export function expectSupportPrice(text: string) {
  const cost = /Cost: \$([\d.]+) \((\d+) in \+ (\d+) out tokens\)/.exec(text);
  expect(cost, text).not.toBeNull();
  const [, usd, tokensIn, tokensOut] = cost!;
  expect(Number(usd)).toBeCloseTo((Number(tokensIn) * 1 + Number(tokensOut) * 2) / 1e6, 9);
}

/** What Together must receive for a question to the `support` model. */
export function supportRequest(question: string) {
  return {
    model: 'acme/Meta-Llama-3.1-8B-Instruct-support-lora',
    max_tokens: 256,
    messages: [
      { role: 'system', content: 'You answer questions about Acme.' },
      { role: 'user', content: question },
    ],
  };
}
