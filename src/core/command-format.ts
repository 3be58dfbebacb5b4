import { FLUX_FLAGS } from './command-parser.js';
import { needsSeparator, splitWords } from './command-tokens.js';
import { type ChatRequest, type ImageRequest, RESERVED_WORDS, type SourceImage } from './requests.js';
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
  options.push(...imageOptions(request.images));
  return joinCommand('/flux', request.prompt, options, RESERVED_WORDS.flux, (word) =>
    needsSeparator(word, FLUX_FLAGS),
  );
}

export function formatChatCommand(request: ChatRequest, settings: CoreSettings): string {
  const options = request.model === settings.chat.defaultModel ? [] : [`--model ${request.model}`];
  options.push(...imageOptions(request.images));
  return joinCommand(
    '/ask',
    request.question,
    options,
    RESERVED_WORDS.ask,
    (word) => word === '--' || /^(--|\u2014|\u2013)(model|image)(=|$)/iu.test(word),
  );
}

/**
 * `--image <link>` for each source given as a link. A Slack file or an earlier result has no link a person could
 * type, so it is left out of the text (the request itself keeps it).
 */
function imageOptions(images: readonly SourceImage[] | undefined): string[] {
  return (images ?? []).flatMap((source) => (source.kind === 'link' ? [`--image ${source.url}`] : []));
}

function joinCommand(
  command: string,
  text: string,
  options: string[],
  reserved: readonly string[],
  isSpecial: (word: string) => boolean,
): string {
  const words = splitWords(text);
  // A lone `help`, `presets`… would read as the subcommand: keep it a prompt with `--`.
  const readsAsSubcommand =
    options.length === 0 && words.length === 1 && reserved.includes(words[0]!.toLowerCase());
  if (readsAsSubcommand || words.some(isSpecial)) return [command, ...options, '--', ...words].join(' ');
  return [command, ...words, ...options].join(' ');
}
