import type { Place } from '../../core/access.js';
import { presetsAt } from '../../core/presets.js';
import type { CoreSettings } from '../../core/settings.js';
import { EDIT_COMMAND } from './discord-format.js';

/** Discord application command option types. @see https://discord.com/developers/docs/interactions/application-commands */
const STRING = 3;
const INTEGER = 4;

/** An application command definition, as Discord's bulk overwrite takes it. */
type CommandDefinition = Record<string, unknown>;

/** Application command types: a slash command, a message's context-menu command. */
const CHAT_INPUT = 1;
const MESSAGE = 3;

/** Installation types: to a server, to a person's account. */
const GUILD_INSTALL = 0;
const USER_INSTALL = 1;
/** Interaction contexts: a server, the bot's DM, DMs and group DMs between people. */
const GUILD = 0;
const BOT_DM = 1;
const PRIVATE_CHANNEL = 2;

/**
 * `/flux` (a `prompt` option taking the whole grammar, plus typed options), `/ask`, and the message command "Edit
 * with lorabot" (in a message's Apps menu; no description or options). Slash command names are lower-case, at
 * most 32 characters; descriptions at most 100. Registered globally, each is available to both install types
 * (a server's, a person's own) in every context; a server's commands take neither field (Discord allows them on
 * global commands only).
 * @see https://discord.com/developers/docs/interactions/application-commands#installation-context
 */
export function commandDefinitions(
  settings: CoreSettings,
  scope: { global: boolean } = { global: true },
): CommandDefinition[] {
  const everywhere = scope.global
    ? { integration_types: [GUILD_INSTALL, USER_INSTALL], contexts: [GUILD, BOT_DM, PRIVATE_CHANNEL] }
    : {};
  return [
    fluxCommand(settings.image.bounds),
    askCommand(Object.values(settings.chat.models)),
    { name: EDIT_COMMAND, type: MESSAGE },
  ].map((command) => ({ ...command, ...everywhere }));
}

/** `/flux`: the prompt, then each flag of the grammar as a typed option, bounded as the config bounds it. */
function fluxCommand(bounds: CoreSettings['image']['bounds']): CommandDefinition {
  const text = (name: string, description: string, maxLength: number) => ({
    type: STRING,
    name,
    description,
    required: false,
    max_length: maxLength,
  });
  const integer = (name: string, description: string, range: { min: number; max: number }) => ({
    type: INTEGER,
    name,
    description,
    required: false,
    min_value: range.min,
    max_value: range.max,
  });
  return {
    name: 'flux',
    type: CHAT_INPUT,
    description: 'Generate images with FLUX and LoRAs',
    options: [
      { ...text('prompt', 'What to draw; the whole /flux grammar works here too', 6000), required: true },
      text('lora', 'A LoRA preset or https link, optionally @scale', 500),
      text('lora2', 'A second LoRA preset or link', 500),
      text('size', 'Width x height, e.g. 1024x768', 20),
      text('ar', 'Aspect ratio, e.g. 16:9', 20),
      integer('steps', 'Inference steps', bounds.steps),
      integer('n', 'How many images', bounds.n),
      integer('seed', 'Seed, for repeatable images', { min: 0, max: 2_147_483_647 }),
      // A link, not an attachment (type 11): it takes the same rules as a typed `--image`, and more can follow in
      // the prompt. Attachments reach the edit model through the "Edit with lorabot" message command instead.
      text('image', 'An https link to an image to start from (the edit model makes the result)', 2048),
    ],
  };
}

/** `/ask`: the question, and the configured models to choose from (Discord takes at most 25 choices). */
function askCommand(models: ReadonlyArray<{ name: string }>): CommandDefinition {
  return {
    name: 'ask',
    type: CHAT_INPUT,
    description: 'Ask a (LoRA fine-tuned) chat model',
    options: [
      { type: STRING, name: 'question', description: 'Your question', required: true, max_length: 6000 },
      {
        type: STRING,
        name: 'model',
        description: 'Which configured model answers',
        required: false,
        choices: models.slice(0, 25).map((m) => ({ name: m.name, value: m.name })),
      },
    ],
  };
}

/** Turns typed options back into the shared grammar's text, so one parser checks everything. */
export function commandText(name: 'flux' | 'ask', options: ReadonlyMap<string, string | number>): string {
  const main = String(options.get(name === 'flux' ? 'prompt' : 'question') ?? '');
  const flags: string[] = [];
  const add = (flag: string, value: string | number | undefined) => {
    if (value !== undefined && String(value).trim() !== '') flags.push(`--${flag} ${String(value).trim()}`);
  };
  if (name === 'flux') {
    add('lora', options.get('lora'));
    add('lora', options.get('lora2'));
    for (const key of ['size', 'ar', 'steps', 'n', 'seed', 'image']) add(key, options.get(key));
  } else {
    add('model', options.get('model'));
  }
  return [main, ...flags].join(' ');
}

/** The names of presets usable at `place` that match what the user has typed, for Discord's autocomplete (≤ 25). */
export function presetChoices(
  settings: CoreSettings,
  typed: string,
  place: Place,
): Array<{ name: string; value: string }> {
  const query = typed.trim().toLowerCase();
  return presetsAt(settings, place)
    .filter((p) => p.name.includes(query) || (p.description ?? '').toLowerCase().includes(query))
    .sort(
      (a, b) =>
        Number(!a.name.startsWith(query)) - Number(!b.name.startsWith(query)) || a.name.localeCompare(b.name),
    )
    .slice(0, 25)
    .map((p) => ({
      name: (p.description ? `${p.name} — ${p.description}` : p.name).slice(0, 100),
      value: p.name,
    }));
}
