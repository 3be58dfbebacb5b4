import { type UserError, userError } from './lorabot-error.js';
import { err, ok, type Result } from './result.js';
import type { ChatModel, CoreSettings } from './settings.js';

/**
 * Chat model presets added while lorabot runs (Add as model, `lorabot models add`), beside those in the config.
 * Both are merged where presets are resolved: the settings every parser, planner and price lookup reads. A name in
 * the config wins: adding a preset under a configured name is refused, and a runtime preset whose name the config
 * gained later is hidden by the config's.
 */

/** A preset's name: what `--model` takes (lower case, letters, digits, `.`, `_`, `-`). */
const PRESET_NAME = /^[a-z0-9][a-z0-9._-]{0,39}$/;

/** The largest `max_tokens` a runtime preset may ask for. */
export const MAX_PRESET_TOKENS = 32_768;

/** What a person gives to add a preset (the modal, the CLI), before it is checked. */
export interface PresetDraft {
  name: string;
  id: string;
  systemPrompt?: string | undefined;
  maxTokens: string | number;
}

/** Checks a draft against the grammar and the configured names; a runtime preset is priced `auto`. */
export function presetFromDraft(draft: PresetDraft, settings: CoreSettings): Result<ChatModel, UserError> {
  const name = draft.name.trim().toLowerCase();
  if (!PRESET_NAME.test(name))
    return err(
      userError(
        'bad_preset_name',
        `\`${draft.name}\` cannot be a model name: use up to 40 lower-case letters, digits, \`.\`, \`_\` or \`-\`.`,
      ),
    );
  if (configuredNames(settings).has(name))
    return err(
      userError(
        'preset_name_taken',
        `\`${name}\` is a model in the config file, which wins over models added at run time. Choose another name.`,
      ),
    );
  const id = draft.id.trim();
  if (!/^[\w.:/-]{1,200}$/.test(id))
    return err(userError('bad_model_id', `\`${draft.id}\` is not a Together model id.`));
  const maxTokens = Number(String(draft.maxTokens).trim());
  if (!Number.isInteger(maxTokens) || maxTokens < 1 || maxTokens > MAX_PRESET_TOKENS)
    return err(userError('bad_max_tokens', `max_tokens is a whole number from 1 to ${MAX_PRESET_TOKENS}.`));
  const systemPrompt = draft.systemPrompt?.trim();
  return ok({
    name,
    id,
    maxTokens,
    pricing: { kind: 'auto' },
    ...(systemPrompt ? { systemPrompt } : {}),
  });
}

/** The preset names the config file defines (a live settings object answers with its config part). */
function configuredNames(settings: CoreSettings): ReadonlySet<string> {
  const config = (settings as Partial<LiveSettings>).configModels ?? settings.chat.models;
  return new Set(Object.keys(config));
}

/** Settings whose chat presets are the config's and the runtime ones, read afresh each time. */
export interface LiveSettings extends CoreSettings {
  /** The presets of the config file alone. */
  readonly configModels: Readonly<Record<string, ChatModel>>;
}

/**
 * The settings with `runtime()`'s presets merged under the config's (config first, in its order). `runtime` is
 * read at every access, so a preset added by another process shows as soon as the registry has loaded it.
 */
export function withRuntimeModels(
  base: CoreSettings,
  runtime: () => Readonly<Record<string, ChatModel>>,
): LiveSettings {
  const configModels = base.chat.models;
  return Object.freeze({
    ...base,
    configModels,
    get chat() {
      const added = Object.fromEntries(Object.entries(runtime()).filter(([name]) => !configModels[name]));
      return { ...base.chat, models: { ...configModels, ...added } };
    },
  });
}
