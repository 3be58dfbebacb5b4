import type { Requester } from '../core/budget.js';
import {
  type FineTuneRequest,
  fineTuneBody,
  fineTuneCommand,
  suggestedPresetName,
  type TogetherJobs,
  type WatchedKind,
} from '../core/finetune.js';
import { presetFromDraft } from '../core/finetune-models.js';
import { formatUsd } from '../core/money.js';
import type { ModelRegistry } from '../queue/model-registry.js';
import type { WatchStore } from '../queue/watch-store.js';
import type { InboundInput } from './chat-platform.js';
import type { InboundDeps } from './intake.js';
import type { EventContext } from './launch.js';

/** What `/ask watch`, Watch and Add as model need: the watches and the runtime presets, in Redis. */
export interface WatchDeps {
  watches: WatchStore;
  models: ModelRegistry;
}

const NO_WATCHES = '`/ask watch` is not available here: this gateway has no watch queue.';

/** Whether a person is an admin of their platform (`access.admins`). */
export function isAdmin(requester: Requester, deps: Pick<InboundDeps, 'access'>): boolean {
  const admins = requester.platform === 'cli' ? [] : (deps.access.admins[requester.platform] ?? []);
  return admins.includes(requester.userId);
}

/**
 * `/ask watch <id>`: a new watch posts its status message in the channel and queues its poll job; a watch already
 * going adds the person to its watchers. Either way the person is among those told when it ends.
 */
export async function startWatch(
  context: EventContext,
  watched: { id: string; kind: WatchedKind; chargeTo?: Requester },
  deps: InboundDeps,
): Promise<void> {
  const { event, platform, count } = context;
  const { watches } = deps;
  if (!watches || !platform.postWatch) {
    await platform.tell(NO_WATCHES);
    return count('watch', 'user_error');
  }
  await platform.ack();
  const userId = event.requester.userId;
  const existing = await watches.find(watched.id);
  if (existing && !existing.announced) {
    await watches.join(watched.id, userId);
    await platform.tell(`You are watching ${watched.id}: you will be mentioned when it ends.`);
    return count('watch', 'joined');
  }
  const snapshot = { kind: watched.kind, id: watched.id, state: 'checking…' };
  const target = await platform.postWatch({ snapshot, watchers: 1 });
  const record = { kind: watched.kind, target, ...(watched.chargeTo ? { chargeTo: watched.chargeTo } : {}) };
  if (!(await watches.create(watched.id, record))) {
    // Someone started the same watch a moment before: this person joins theirs.
    await watches.join(watched.id, userId);
    return count('watch', 'joined');
  }
  await watches.join(watched.id, userId);
  await watches.poll(watched.id, watched.kind);
  deps.logger.info({ watch: watched.id, platform: event.requester.platform }, 'watch started');
  count('watch', 'queued');
}

/** Watch pressed on a status message: the presser joins (the access check has run already). */
export async function joinWatch(context: EventContext, id: string, deps: InboundDeps): Promise<void> {
  const { event, platform, count } = context;
  if (!deps.watches) {
    await platform.tell(NO_WATCHES);
    return count('watch', 'user_error');
  }
  // No record yet: the press came while the watch was being set up (its status is posted first); it counts.
  const record = await deps.watches.find(id);
  if (record?.announced) {
    await platform.tell(`${id} has ended already; its notice is in the channel.`);
    return count('watch', 'expired');
  }
  const added = await deps.watches.join(id, event.requester.userId);
  await platform.tell(
    added ? `You are watching ${id}: you will be mentioned when it ends.` : `You are already watching ${id}.`,
  );
  count('watch', 'joined');
}

const ADMINS_ONLY = 'Only an admin (`access.admins` in the config) can add a model.';

/** Add as model pressed on an end notice: an admin gets the form (name, system prompt, max_tokens). */
export async function openModelForm(context: EventContext, id: string, deps: InboundDeps): Promise<void> {
  const { event, platform, count } = context;
  if (!isAdmin(event.requester, deps)) {
    await platform.tell(ADMINS_ONLY);
    return count('add-model', 'refused');
  }
  const model = (await deps.watches?.find(id))?.snapshot?.outputModel;
  if (!model) {
    await platform.tell('That job has no output model (or its watch is no longer kept).');
    return count('add-model', 'expired');
  }
  if (!platform.openModelForm) {
    await platform.tell(`Add it from the command line: lorabot models add --name <name> --id ${model}`);
    return count('add-model', 'user_error');
  }
  await platform.openModelForm({ watchId: id, modelId: model, name: suggestedPresetName(model) });
  count('add-model', 'editor');
}

/** The form came back: checked, stored in Redis for every process, and said privately. */
export async function addModel(
  context: EventContext,
  input: Extract<InboundInput, { type: 'add-model' }>,
  deps: InboundDeps,
): Promise<void> {
  const { event, platform, count } = context;
  await platform.ack('private');
  if (!isAdmin(event.requester, deps)) {
    await platform.tell(ADMINS_ONLY);
    return count('add-model', 'refused');
  }
  const modelId = (await deps.watches?.find(input.watchId))?.snapshot?.outputModel;
  if (!modelId || !deps.models) {
    await platform.tell('That job has no output model (or its watch is no longer kept).');
    return count('add-model', 'expired');
  }
  const preset = presetFromDraft(
    { name: input.name, id: modelId, systemPrompt: input.systemPrompt, maxTokens: input.maxTokens },
    deps.settings,
  );
  if (!preset.success) {
    await platform.tell(preset.error.message);
    return count('add-model', 'user_error');
  }
  const added = await deps.models.add({
    ...preset.data,
    addedBy: `${event.requester.platform}:${event.requester.userId}`,
    addedAt: new Date(deps.now()).toISOString(),
  });
  await platform.tell(
    added
      ? `Added the model \`${preset.data.name}\` (${modelId}). Ask it with \`/ask --model ${preset.data.name} <your question>\`.`
      : `A model named \`${preset.data.name}\` exists already. Choose another name, or remove it with \`lorabot models remove ${preset.data.name}\`.`,
  );
  count('add-model', added ? 'answered' : 'user_error');
}

/** Together's fine-tune endpoints, where this process may call Together (a process that runs the worker). */
export interface FineTuneDeps {
  fineTunes?: TogetherJobs;
}

/**
 * `/ask finetune …` (admins): Together's price estimate first, shown with Run / Cancel; nothing starts until Run.
 * A non-admin is refused privately and nothing is asked of Together.
 */
export async function startFineTune(
  context: EventContext,
  request: FineTuneRequest,
  deps: InboundDeps,
): Promise<void> {
  const { event, platform, count } = context;
  if (!isAdmin(event.requester, deps)) {
    await platform.tell(
      'Only an admin (`access.admins` in the config) can start a fine-tune. Nothing was started or charged.',
    );
    return count('finetune', 'refused');
  }
  if (!deps.fineTunes || !deps.watches) {
    await platform.tell(
      '`/ask finetune` needs a process that runs the worker too (`lorabot start`): this gateway never calls Together.',
    );
    return count('finetune', 'user_error');
  }
  await platform.ack('private');
  const body = fineTuneBody(request);
  const estimate = await deps.fineTunes.estimate(body).catch((error: unknown) => error as Error);
  if (estimate instanceof Error) {
    await platform.tell(`Together could not estimate this fine-tune: ${userText(estimate)}`);
    return count('finetune', 'provider_error');
  }
  if (!estimate.allowed) {
    await platform.tell(
      `Together estimates $${formatUsd(estimate.micros)} and says this account may not proceed (its limit). Nothing was started.`,
    );
    return count('finetune', 'over_budget');
  }
  await deps.watches.putFineTune(event.requestId, { request, requester: event.requester });
  const command = fineTuneCommand(request);
  await platform.askToConfirm(
    `Together estimates this fine-tune at $${formatUsd(estimate.micros)}; the final price is its total_price when it ends. Start it?`,
    command,
    event.requestId,
  );
  count('finetune', 'confirm');
}

/**
 * Run pressed on a fine-tune's confirmation: once, by the admin who asked; the job is created and watched here.
 * False when `pendingId` is no fine-tune (a usual confirmation).
 */
export async function runFineTune(
  context: EventContext,
  pendingId: string,
  deps: InboundDeps,
): Promise<boolean> {
  const { event, platform, count } = context;
  const pending = await deps.watches?.takeFineTune(pendingId);
  if (!pending || !deps.fineTunes) return false;
  if (pending.requester.userId !== event.requester.userId) {
    await deps.watches!.putFineTune(pendingId, pending);
    await platform.tell('Only the admin who asked can start this fine-tune.');
    count('run', 'refused');
    return true;
  }
  const created = await deps.fineTunes
    .create(fineTuneBody(pending.request))
    .catch((error: unknown) => error as Error);
  if (created instanceof Error) {
    await platform.closeConfirmation('expired', `Together did not start the fine-tune: ${userText(created)}`);
    count('finetune', 'provider_error');
    return true;
  }
  await platform.closeConfirmation('running', `Started ${created.id}: ${fineTuneCommand(pending.request)}`);
  await startWatch(context, { id: created.id, kind: 'fine-tune', chargeTo: pending.requester }, deps);
  return true;
}

/** Cancel pressed on a fine-tune's confirmation: false when `pendingId` is no fine-tune. */
export async function dismissFineTune(pendingId: string, deps: InboundDeps): Promise<boolean> {
  return (await deps.watches?.takeFineTune(pendingId)) !== undefined;
}

function userText(error: Error): string {
  return (error as { userMessage?: string }).userMessage ?? error.message;
}
