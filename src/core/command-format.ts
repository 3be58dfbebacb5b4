import { FLUX_FLAGS } from './command-parser.js';
import { needsSeparator, splitWords } from './command-tokens.js';
import type { ChatRequest, ImageRequest } from './requests.js';
import type { CoreSettings } from './settings.js';

/**
 * Writes an accepted request back as command text that parses to the same request: what the bot shows as "the
 * command" and what Regenerate reuses. Defaults are left out.
 */
export function formatImageCommand(request: ImageRequest, settings: CoreSettings): string {
  const { defaults } = settings.image;
  const options: string[] = [];
  for (const lora of request.loras) {
    const preset = lora.preset ? settings.loras[lora.preset] : undefined;
    const ref = preset ? preset.name : lora.path;
    const defaultScale = preset ? preset.scale : 1;
    options.push(`--lora ${ref}${lora.scale === defaultScale ? '' : `@${lora.scale}`}`);
  }
  if (request.width !== defaults.width || request.height !== defaults.height) {
    options.push(`--size ${request.width}x${request.height}`);
  }
  if (request.steps !== defaults.steps) options.push(`--steps ${request.steps}`);
  if (request.n !== defaults.n) options.push(`--n ${request.n}`);
  if (request.seed !== undefined) options.push(`--seed ${request.seed}`);
  return joinCommand('/flux', request.prompt, options, (word) => needsSeparator(word, FLUX_FLAGS));
}

export function formatChatCommand(request: ChatRequest, settings: CoreSettings): string {
  const options = request.model === settings.chat.defaultModel ? [] : [`--model ${request.model}`];
  return joinCommand(
    '/ask',
    request.question,
    options,
    (word) => word === '--' || /^(--|\u2014|\u2013)model(=|$)/iu.test(word),
  );
}

function joinCommand(
  command: string,
  text: string,
  options: string[],
  isSpecial: (word: string) => boolean,
): string {
  const words = splitWords(text);
  const readsAsHelp = options.length === 0 && words.length === 1 && words[0]!.toLowerCase() === 'help';
  if (readsAsHelp || words.some(isSpecial)) return [command, ...options, '--', ...words].join(' ');
  return [command, ...words, ...options].join(' ');
}
