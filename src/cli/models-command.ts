import { parseArgs } from 'node:util';
import { presetFromDraft } from '../core/finetune-models.js';
import { ModelRegistry } from '../queue/model-registry.js';
import { createRedis } from '../queue/redis-connection.js';
import { RedisKeys } from '../queue/redis-keys.js';
import { configOrExit, type Io, resolveOrSay } from './io.js';

const MODELS_USAGE = `Usage:
  lorabot models list
  lorabot models add --name <name> --id <together model id> [--system-prompt <text>] [--max-tokens <N>]
  lorabot models remove <name>`;

/**
 * `lorabot models list|add|remove`: the chat presets added at run time, in Redis beside those of the config file.
 * Exit 0 on success, 2 for a usage or validation error, 1 when Redis cannot be reached or the name is unknown.
 */
export async function modelsCommand(args: string[], io: Io): Promise<number> {
  const [action, ...rest] = args;
  let parsed: ReturnType<typeof parseModelArgs>;
  try {
    parsed = parseModelArgs(action, rest);
  } catch (error) {
    io.stderr(`${error instanceof Error ? error.message : String(error)}\n${MODELS_USAGE}\n`);
    return 2;
  }
  const config = configOrExit(io);
  if (typeof config === 'number') return config;
  let preset: ReturnType<typeof presetFromDraft> | undefined;
  if (parsed.action === 'add') {
    preset = presetFromDraft(parsed.draft, config.core);
    if (!preset.success) {
      io.stderr(`${preset.error.message}\n`);
      return 2;
    }
  }
  const redis = await resolveOrSay(config, io);
  if (!redis) return 1;
  const connection = createRedis(redis.url, 'worker', 'models');
  const registry = new ModelRegistry(connection, new RedisKeys(config.queue.prefix));
  try {
    if (parsed.action === 'list') {
      const added = await registry.list();
      const lines = [
        ...Object.values(config.core.chat.models).map((m) => `${m.name}\t${m.id}\tconfig`),
        ...added.map((m) => `${m.name}\t${m.id}\tadded${m.addedBy ? ` by ${m.addedBy}` : ''}`),
      ];
      io.stdout(`${lines.join('\n')}\n`);
      return 0;
    }
    if (parsed.action === 'remove') {
      if (await registry.remove(parsed.name)) {
        io.stdout(`Removed the model ${parsed.name}.\n`);
        return 0;
      }
      io.stderr(
        `No model named ${parsed.name} was added at run time (models in the config file are edited there).\n`,
      );
      return 1;
    }
    const model = preset!.success ? preset!.data : undefined;
    if (!model) return 2;
    if (!(await registry.add({ ...model, addedBy: 'cli', addedAt: new Date().toISOString() }))) {
      io.stderr(`A model named ${model.name} exists already; remove it first.\n`);
      return 1;
    }
    io.stdout(
      `Added the model ${model.name} (${model.id}). Ask it with: /ask --model ${model.name} <question>\n`,
    );
    return 0;
  } finally {
    connection.disconnect();
    await redis.stop?.();
  }
}

type ModelArgs =
  | { action: 'list' }
  | { action: 'remove'; name: string }
  | { action: 'add'; draft: { name: string; id: string; systemPrompt?: string; maxTokens: string } };

function parseModelArgs(action: string | undefined, args: string[]): ModelArgs {
  if (action === 'list' && args.length === 0) return { action: 'list' };
  if (action === 'remove') {
    if (args.length !== 1) throw new Error('lorabot models remove takes one name.');
    return { action: 'remove', name: args[0]!.toLowerCase() };
  }
  if (action !== 'add') throw new Error(`Unknown models action "${action ?? ''}".`);
  const { values } = parseArgs({
    args,
    options: {
      name: { type: 'string' },
      id: { type: 'string' },
      'system-prompt': { type: 'string' },
      'max-tokens': { type: 'string', default: '1024' },
    },
  });
  if (!values.name || !values.id) throw new Error('lorabot models add needs --name and --id.');
  return {
    action: 'add',
    draft: {
      name: values.name,
      id: values.id,
      maxTokens: values['max-tokens'],
      ...(values['system-prompt'] ? { systemPrompt: values['system-prompt'] } : {}),
    },
  };
}
