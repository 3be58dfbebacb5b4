import type { Place } from '../../core/access.js';
import { presetsAt } from '../../core/presets.js';
import type { CoreSettings } from '../../core/settings.js';

/** Discord application command option types. @see https://discord.com/developers/docs/interactions/application-commands */
const STRING = 3;
const INTEGER = 4;

/**
 * `/flux` (a `prompt` option taking the whole grammar, plus typed options) and `/ask`. Names are lower-case, at
 * most 32 characters; descriptions at most 100.
 */
export function commandDefinitions(settings: CoreSettings): Array<Record<string, unknown>> {
  const models = Object.values(settings.chat.models).slice(0, 25);
  return [
    fluxCommand(settings),
    {
      name: 'ask',
      type: 1,
      description: 'Ask a (LoRA fine-tuned) chat model',
      options: [
        { type: STRING, name: 'question', description: 'Your question', required: true, max_length: 6000 },
        {
          type: STRING,
          name: 'model',
          description: 'Which configured model answers',
          required: false,
          choices: models.map((m) => ({ name: m.name, value: m.name })),
        },
      ],
    },
  ];
}

/** `/flux`: the whole grammar in `prompt`, and the common options typed, bounded by the configured limits. */
function fluxCommand(settings: CoreSettings): Record<string, unknown> {
  const { bounds } = settings.image;
  return {
    name: 'flux',
    type: 1,
    description: 'Generate images with FLUX and LoRAs',
    options: [
      {
        type: STRING,
        name: 'prompt',
        description: 'What to draw; the whole /flux grammar works here too',
        required: true,
        max_length: 6000,
      },
      {
        type: STRING,
        name: 'lora',
        description: 'A LoRA preset or https link, optionally @scale',
        required: false,
        max_length: 500,
      },
      {
        type: STRING,
        name: 'lora2',
        description: 'A second LoRA preset or link',
        required: false,
        max_length: 500,
      },
      {
        type: STRING,
        name: 'size',
        description: 'Width x height, e.g. 1024x768',
        required: false,
        max_length: 20,
      },
      { type: STRING, name: 'ar', description: 'Aspect ratio, e.g. 16:9', required: false, max_length: 20 },
      {
        type: INTEGER,
        name: 'steps',
        description: 'Inference steps',
        required: false,
        min_value: bounds.steps.min,
        max_value: bounds.steps.max,
      },
      {
        type: INTEGER,
        name: 'n',
        description: 'How many images',
        required: false,
        min_value: bounds.n.min,
        max_value: bounds.n.max,
      },
      {
        type: INTEGER,
        name: 'seed',
        description: 'Seed, for repeatable images',
        required: false,
        min_value: 0,
        max_value: 2_147_483_647,
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
    for (const key of ['size', 'ar', 'steps', 'n', 'seed']) add(key, options.get(key));
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
