/**
 * Vision presets for tests of pictures in `/ask`: `default` reads no pictures, `eyes` does (a model the fake
 * Together knows as a vision model), and the exact bodies a question to `eyes` makes.
 */
export const VISION_CHAT_MODELS = [
  'chat:',
  '  models:',
  '    default:',
  '      id: meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo',
  '      max_tokens: 200',
  '      pricing: { input_usd_per_m_tokens: 0.18, output_usd_per_m_tokens: 0.18 }',
  '    eyes:',
  '      id: google/gemma-4-31B-it',
  '      max_tokens: 200',
  '      vision: true',
  '      pricing: { input_usd_per_m_tokens: 0.6, output_usd_per_m_tokens: 0.8 }',
];

/** The fake Together's models: both chat models, and which of them reads pictures. */
export const VISION_TOGETHER = {
  chatModels: ['meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo', 'google/gemma-4-31B-it'],
  visionModels: ['google/gemma-4-31B-it'],
};

/** A user turn with pictures: the text part, then one `image_url` part per picture. */
export function pictureTurn(text: string, urls: readonly string[]) {
  return {
    role: 'user',
    content: [{ type: 'text', text }, ...urls.map((url) => ({ type: 'image_url', image_url: { url } }))],
  };
}

/** The whole body of a streamed question to `eyes`. */
export function eyesBody(messages: readonly unknown[]) {
  return { model: 'google/gemma-4-31B-it', messages, max_tokens: 200, stream: true };
}
