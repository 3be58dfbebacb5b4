import type { Place } from './access.js';
import { type FlagToken, splitWords, tokenize } from './command-tokens.js';
import { editProblem, imageModelFor } from './edit-model.js';
import { parseFineTune, parseWatch } from './finetune.js';
import { sizeHint } from './image-size.js';
import { type UserError, userError } from './lorabot-error.js';
import { missingValue, parseAspect, parseInteger, parseLora, parseSize } from './option-values.js';
import {
  type ChatRequest,
  type CommandName,
  type ImageRequest,
  type InfoTopic,
  type LoraSpec,
  MAX_LORAS,
  MAX_SEED,
  type ParsedCommand,
  RESERVED_WORDS,
  type SourceImage,
} from './requests.js';
import { err, ok, type Result } from './result.js';
import type { CoreSettings } from './settings.js';
import { parseImageLink } from './source-link.js';

export const FLUX_FLAGS: ReadonlySet<string> = new Set(['lora', 'size', 'ar', 'steps', 'n', 'seed', 'image']);

export const FLUX_USAGE =
  '/flux <prompt> [--lora <preset or URL>[@<scale>]]... [--size <W>x<H> | --ar <W>:<H>] [--steps <N>] [--n <N>] [--seed <N>] [--image <https link>]...';
export const ASK_USAGE = '/ask <question> [--model <name>] [--image <https link>]...';

/** Options that may be given more than once. */
const REPEATABLE: ReadonlySet<string> = new Set(['lora', 'image']);

export type ParseResult = Result<ParsedCommand, UserError>;

/** Parses a whole command line such as `/flux a panda --lora tarot` (the leading slash is optional). */
export function parseCommandLine(line: string, settings: CoreSettings): ParseResult {
  const match = /^\s*\/?(\S+)\s*([\s\S]*)$/u.exec(line);
  const name = match?.[1]?.toLowerCase();
  if (name !== 'flux' && name !== 'ask') {
    return err(
      userError(
        'unknown_command',
        `Unknown command \`${match?.[1] ?? line.trim()}\`. Use \`${FLUX_USAGE}\` or \`${ASK_USAGE}\`.`,
      ),
    );
  }
  return parseCommand(name, match?.[2] ?? '', settings);
}

/**
 * Parses the text after `/flux` or `/ask` (what Slack sends as `text`, already unescaped). `place` is the channel
 * it came from, for presets limited to channels; without one every preset may be used.
 */
export function parseCommand(
  command: CommandName,
  text: string,
  settings: CoreSettings,
  place?: Place,
): ParseResult {
  const words = splitWords(text);
  const only = words.length === 1 ? words[0]!.toLowerCase() : undefined;
  if (only === 'help') return ok({ kind: 'help', topic: command });
  if (command === 'flux' && words[0]?.toLowerCase() === 'notify' && words.length <= 2)
    return parseNotify(words[1]);
  if (only && RESERVED_WORDS[command].includes(only)) return ok({ kind: 'info', topic: only as InfoTopic });
  const first = words[0]?.toLowerCase();
  // "watch" with one word after it is the watch command; a longer question that starts with "watch" is a question.
  if (command === 'ask' && first === 'watch' && words.length <= 2) {
    const watch = parseWatch(words.slice(1).join(' '));
    return watch.success ? ok({ kind: 'watch', id: watch.data.id, watched: watch.data.kind }) : watch;
  }
  if (command === 'ask' && first === 'finetune') {
    const finetune = parseFineTune(words.slice(1).join(' '));
    return finetune.success ? ok({ kind: 'finetune', finetune: finetune.data }) : finetune;
  }
  return command === 'flux' ? parseFlux(text, settings, place) : parseAsk(text, settings);
}

const NOTIFY_MODES = ['thread', 'dm', 'off'] as const;

function parseNotify(word: string | undefined): ParseResult {
  if (word === undefined) return ok({ kind: 'notify', mode: undefined });
  const mode = NOTIFY_MODES.find((m) => m === word.toLowerCase());
  if (!mode)
    return err(
      userError(
        'bad_notify_mode',
        `\`${word}\` is not a notification setting. Use \`/flux notify thread\` (a mention in the thread), \`/flux notify dm\` (a direct message) or \`/flux notify off\`.`,
      ),
    );
  return ok({ kind: 'notify', mode });
}

function parseFlux(text: string, settings: CoreSettings, place: Place | undefined): ParseResult {
  const tokens = tokenize(text, FLUX_FLAGS);
  const unknown = tokens.unknown[0];
  if (unknown !== undefined) {
    return err(
      userError(
        'unknown_option',
        `Unknown option \`${unknown}\`. /flux takes --lora, --size, --ar, --steps, --n and --seed. ` +
          'To use it as prompt text, put it after a lone `--`.',
      ),
    );
  }
  const options = readFluxOptions(tokens.flags, settings, place);
  if (!options.success) return options;
  const { loras, images, notices, size, steps, n, seed, seen } = options.data;
  const { image } = settings;
  if (loras.length > MAX_LORAS) {
    return err(
      userError(
        'too_many_loras',
        `At most ${MAX_LORAS} LoRAs per image (Together's limit); you gave ${loras.length}. Remove a \`--lora\`.`,
      ),
    );
  }
  const prompt = tokens.words.join(' ');
  const promptError = checkText(
    prompt,
    'prompt',
    image.bounds.maxPromptChars,
    'a baby panda --lora tarot',
    'flux',
  );
  if (promptError) return err(promptError);
  const request: ImageRequest = {
    prompt,
    loras,
    width: size?.width ?? image.defaults.width,
    height: size?.height ?? image.defaults.height,
    steps,
    n,
  };
  if (seed !== undefined) request.seed = seed;
  if (images.length > 0) request.images = images;
  const problem = editProblem(request, image);
  if (problem) return err(problem);
  // Only a size typed by hand can be just past a megapixel: the default and `--ar` sizes stay within theirs.
  const { model, pricing } = imageModelFor(request, image);
  const hint = seen.has('size') ? sizeHint(request, { ...image, model, pricing }) : undefined;
  if (hint) notices.push(hint);
  return ok({ kind: 'flux', request, notices });
}

/** The options of a `/flux` command, each checked; the first problem is the answer. */
interface FluxOptions {
  loras: LoraSpec[];
  images: SourceImage[];
  notices: string[];
  size: { width: number; height: number } | undefined;
  steps: number;
  n: number;
  seed: number | undefined;
  /** The options given (except `--lora` and `--image`, which may repeat). */
  seen: Set<string>;
}

function readFluxOptions(
  flags: FlagToken[],
  settings: CoreSettings,
  place: Place | undefined,
): Result<FluxOptions, UserError> {
  const { image } = settings;
  const seen = new Set<string>();
  const loras: LoraSpec[] = [];
  const images: SourceImage[] = [];
  const notices: string[] = [];
  let size: { width: number; height: number } | undefined;
  let steps = image.defaults.steps;
  let n = image.defaults.n;
  let seed: number | undefined;

  for (const flag of flags) {
    if (flag.value === undefined) return err(missingValue(flag));
    if (!REPEATABLE.has(flag.name)) {
      if (seen.has(flag.name))
        return err(userError('duplicate_option', `\`--${flag.name}\` is given twice; keep one.`));
      seen.add(flag.name);
    }
    switch (flag.name) {
      case 'lora': {
        const lora = parseLora(flag.value, settings, place);
        if (!lora.success) return lora;
        if (lora.data.notice) notices.push(lora.data.notice);
        if (loras.some((l) => l.path === lora.data.spec.path)) {
          return err(userError('duplicate_lora', `The LoRA \`${flag.value}\` is given twice; use it once.`));
        }
        loras.push(lora.data.spec);
        break;
      }
      case 'image': {
        const link = parseImageLink(flag.value);
        if (!link.success) return link;
        images.push(link.data);
        break;
      }
      case 'size':
      case 'ar': {
        if (size) return err(userError('size_and_ar', 'Give either `--size` or `--ar`, not both.'));
        const parsed =
          flag.name === 'size' ? parseSize(flag.value, settings) : parseAspect(flag.value, settings);
        if (!parsed.success) return parsed;
        size = parsed.data;
        break;
      }
      case 'steps':
      case 'n': {
        const parsed = parseInteger(flag, flag.name === 'steps' ? image.bounds.steps : image.bounds.n);
        if (!parsed.success) return parsed;
        if (flag.name === 'steps') steps = parsed.data;
        else n = parsed.data;
        break;
      }
      case 'seed': {
        const parsed = parseInteger(flag, { min: 0, max: MAX_SEED });
        if (!parsed.success) return parsed;
        seed = parsed.data;
        break;
      }
    }
  }
  return ok({ loras, images, notices, size, steps, n, seed, seen });
}

function parseAsk(text: string, settings: CoreSettings): ParseResult {
  // Only `--model` and `--image` are options; any other `--word` is part of the question ("what does git --force do?").
  const words = splitWords(text);
  const kept: string[] = [];
  const images: SourceImage[] = [];
  let model: string | undefined;
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (word === '--') {
      kept.push(...words.slice(i + 1));
      break;
    }
    const match = /^(?:--|\u2014|\u2013)(model|image)(?:=(.*))?$/iu.exec(word);
    if (!match) {
      kept.push(word);
      continue;
    }
    const name = match[1]!.toLowerCase();
    let value = match[2];
    if (value === undefined && words[i + 1] !== undefined && !words[i + 1]!.startsWith('--'))
      value = words[++i];
    if (!value) return err(missingValue({ name, value: undefined, raw: word }));
    if (name === 'image') {
      const link = parseImageLink(value);
      if (!link.success) return link;
      images.push(link.data);
      continue;
    }
    if (model !== undefined) return err(userError('duplicate_option', '`--model` is given twice; keep one.'));
    model = value.toLowerCase();
    if (!settings.chat.models[model]) {
      const names = Object.keys(settings.chat.models).join(', ');
      return err(userError('unknown_model', `Unknown model \`${value}\`. Models: ${names}.`));
    }
  }
  const question = kept.join(' ');
  const questionError = checkText(
    question,
    'question',
    settings.chat.maxQuestionChars,
    'how do I rotate keys?',
    'ask',
  );
  if (questionError) return err(questionError);
  const request: ChatRequest = { question, model: model ?? settings.chat.defaultModel };
  if (images.length > 0) request.images = images;
  return ok({ kind: 'ask', request, notices: [] });
}

function checkText(
  text: string,
  what: 'prompt' | 'question',
  maxChars: number,
  example: string,
  command: CommandName,
): UserError | undefined {
  if (text.length === 0) {
    return userError(
      `empty_${what}`,
      `Add a ${what}, e.g. \`/${command} ${example}\`. \`/${command} help\` shows more.`,
    );
  }
  const length = [...text].length;
  if (length > maxChars) {
    return userError(
      `${what}_too_long`,
      `Your ${what} is ${length.toLocaleString('en-US')} characters; the limit is ${maxChars.toLocaleString('en-US')}. Shorten it.`,
    );
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point.
  if (/[\u0000-\u0008\u000e-\u001f\u007f]/u.test(text)) {
    return userError(`${what}_control_character`, `Your ${what} contains a control character; remove it.`);
  }
  return undefined;
}
