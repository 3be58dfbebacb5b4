import type { AccessRules, Place } from '../core/access.js';
import {
  type Budgets,
  checkBudget,
  hasBudgets,
  modelsText,
  type Requester,
  usageText,
} from '../core/budget.js';
import { parseCommand } from '../core/command-parser.js';
import { historyWithImages, trimHistory } from '../core/conversation.js';
import type { IntakeHook } from '../core/intake.js';
import type {
  GatewayState,
  JobAdmission,
  JobData,
  JobQueue,
  NotifyMode,
  PendingCommand,
  SpendReader,
} from '../core/jobs.js';
import { formatUsd } from '../core/money.js';
import type { LinkProbe, Logger, Telemetry } from '../core/ports.js';
import { presetsText } from '../core/presets.js';
import { listedJobLine, NO_JOBS, recipeText } from '../core/recipe.js';
import {
  type AcceptedCommand,
  type ChatRequest,
  type InfoTopic,
  MAX_SEED,
  type SourceImage,
} from '../core/requests.js';
import type { CoreSettings } from '../core/settings.js';
import { linkProblemText, linksToProbe } from '../core/source-link.js';
import { imagesRefusal, maxImages, withAttachments } from '../core/vision.js';
import { type CommandPlan, planCommand } from './command-plan.js';
import type { FineTuneDeps, WatchDeps } from './watch-flow.js';

/** What the gateways share between accepting a command and queueing it. */
export interface IntakeDeps {
  settings: CoreSettings;
  budgets: Budgets;
  spend: SpendReader;
  /** Budget reservations and the per-person cap, checked and taken atomically when a request is launched. */
  admission: JobAdmission;
  now: () => number;
  telemetry?: Telemetry;
}

/** What the interactive features need besides: the queue, Redis-kept state, admins, thresholds. */
export interface InteractionDeps extends IntakeDeps {
  queue: JobQueue;
  state: GatewayState;
  access: AccessRules;
  /** Requests estimated above this ask Run/Cancel first; null: never. */
  confirmAboveMicros: number | null;
  /** Earlier turns sent with a follow-up, at most (rough tokens). */
  contextTokens: number;
  random?: () => number;
  /** Looks at typed `--image` links before queueing (`sources.probe_links`); absent: links go unchecked. */
  linkProbe?: LinkProbe;
}

/** Everything the inbound service needs, and where it logs. */
export interface InboundDeps extends InteractionDeps, Partial<WatchDeps>, FineTuneDeps {
  logger: Logger;
  /** For crash tests only: runs at each point of a launch between the claim and the cleared record. */
  afterIntake?: IntakeHook;
}

/**
 * Why a typed `--image` link cannot be read (no answer in time, an error status, a web page, a private address),
 * or undefined when each can or none is looked at: all looked at once, the first problem told.
 */
export async function linkRefusal(
  typed: readonly SourceImage[] | undefined,
  deps: InteractionDeps,
): Promise<string | undefined> {
  const probe = deps.linkProbe;
  const links = linksToProbe(typed);
  if (!probe || links.length === 0) return undefined;
  const problems = await Promise.all(links.map((link) => probe.check(link)));
  const index = problems.findIndex((problem) => problem !== undefined);
  return index < 0 ? undefined : linkProblemText(links[index]!, problems[index]!);
}

/** A confirmation waits this long for Run. */
export const CONFIRM_TTL_SECONDS = 15 * 60;

/** The private answer to `/flux presets` (the presets usable at `place`), `/ask models` or `/flux usage`. */
export async function infoText(
  topic: InfoTopic,
  requester: Requester,
  place: Place,
  deps: IntakeDeps,
): Promise<string> {
  if (topic === 'presets') return presetsText(deps.settings, place);
  if (topic === 'models') return modelsText(deps.settings);
  const [spend, waiting] = await Promise.all([
    deps.spend.spend(requester, deps.now()),
    deps.admission.waiting(requester),
  ]);
  return usageText(spend, deps.budgets, waiting);
}

/**
 * A budget refusal for a request that may cost `estimate` micro-dollars, or undefined when it fits now: asked
 * before a confirmation, so that nobody is asked to run what cannot run. The launch reserves atomically.
 */
export async function budgetRefusal(
  estimate: number,
  requester: Requester,
  deps: IntakeDeps,
): Promise<string | undefined> {
  if (!hasBudgets(deps.budgets)) return undefined;
  const [spend, waiting] = await Promise.all([
    deps.spend.spend(requester, deps.now()),
    deps.admission.waiting(requester),
  ]);
  return checkBudget(deps.budgets, spend, estimate, waiting)?.message;
}

/**
 * Plans an accepted command for a platform: an image without a seed gets one, so its recipe can be shown and
 * repeated.
 */
export function planForPlatform(
  command: AcceptedCommand,
  deps: Pick<InteractionDeps, 'settings' | 'random'>,
): Planned {
  const seeded: AcceptedCommand =
    command.kind === 'flux' && command.request.seed === undefined
      ? { ...command, request: { ...command.request, seed: newSeed(deps.random) } }
      : command;
  return { command: seeded, plan: planCommand(seeded, deps.settings) };
}

/** A random seed in the range the grammar accepts. */
export function newSeed(random: () => number = Math.random): number {
  return Math.floor(random() * MAX_SEED);
}

/** What pressing Run on a confirmation comes to: the request to launch, or what to tell the presser. */
export type PendingRun =
  | { ok: true; pending: PendingCommand; planned: Planned }
  | { ok: false; message: string; outcome: 'expired' | 'refused' | 'user_error' | 'over_budget' };

/** A request ready to launch; a follow-up carries its conversation and what context it sends. */
export interface Planned {
  command: AcceptedCommand;
  plan: CommandPlan;
  followUp?: { conversationKey: string; threadId: string; note: string };
}

/**
 * Run pressed on a confirmation: takes it (so it runs once), gives it back if someone else pressed, plans it
 * again where it was asked (settings may have changed) and checks the budgets.
 */
export async function pendingRun(
  id: string,
  presserId: string,
  deps: Pick<
    InteractionDeps,
    'state' | 'settings' | 'budgets' | 'spend' | 'admission' | 'now' | 'random' | 'contextTokens'
  >,
): Promise<PendingRun> {
  const pending = await deps.state.takePending(id);
  // An editor's draft is not a confirmation: it goes back untouched for its form.
  if (pending?.editor) await deps.state.putPending(id, pending, CONFIRM_TTL_SECONDS);
  if (!pending || pending.editor)
    return {
      ok: false,
      outcome: 'expired',
      message: 'This confirmation has expired or was already answered.',
    };
  if (pending.requester.userId !== presserId) {
    await deps.state.putPending(id, pending, CONFIRM_TTL_SECONDS);
    return { ok: false, outcome: 'refused', message: 'Only the person who asked can run this request.' };
  }
  const parsed = parseCommand(pending.kind, pending.text, deps.settings, pending.place);
  if (!parsed.success || (parsed.data.kind !== 'flux' && parsed.data.kind !== 'ask'))
    return {
      ok: false,
      outcome: 'user_error',
      message: 'This request is no longer valid with the current settings. Nothing was queued.',
    };
  const followed = pending.followUp;
  const planned: Planned =
    followed && parsed.data.kind === 'ask'
      ? await followUp(
          {
            ...followed,
            question: parsed.data.request.question,
            images: [...(parsed.data.request.images ?? []), ...(pending.images ?? [])],
          },
          pending.requester.userId,
          deps,
        )
      : planForPlatform(withImages(withAttachments(parsed.data, pending.images), pending.images), deps);
  const refused =
    planned.command.kind === 'ask' &&
    imagesRefusal(planned.command.request, deps.settings, {
      inConversation: followed !== undefined,
    });
  if (refused) return { ok: false, outcome: 'user_error', message: refused };
  const refusal = await budgetRefusal(planned.plan.estimate.micros, pending.requester, deps);
  if (refusal) return { ok: false, outcome: 'over_budget', message: refusal };
  return { ok: true, pending, planned };
}

/** A command with the images a confirmation kept (a result, a Slack file), which its text cannot carry. */
function withImages(command: AcceptedCommand, images: PendingCommand['images']): AcceptedCommand {
  if (!images?.length || command.kind !== 'flux') return command;
  return { ...command, request: { ...command.request, images } };
}

/** The question asked before a costly request runs, or undefined when it may run at once. */
export function confirmQuestion(plan: CommandPlan, deps: Pick<InteractionDeps, 'confirmAboveMicros'>) {
  if (deps.confirmAboveMicros === null || plan.estimate.micros <= deps.confirmAboveMicros) return undefined;
  return `This request may cost ${plan.estimate.text.replace(/^Cost: /, '')}, above the $${formatUsd(deps.confirmAboveMicros)} that needs a confirmation. Run it?`;
}

/** `/flux notify …`: sets (or shows) how the user hears that a job is done. */
export async function notifySetting(
  mode: NotifyMode | undefined,
  requester: Requester,
  deps: Pick<InteractionDeps, 'state'>,
): Promise<string> {
  const describe: Record<NotifyMode, string> = {
    thread: 'a mention in the thread of each request',
    dm: 'a direct message',
    off: 'no notification (the status message still shows when it is done)',
  };
  if (mode === undefined) {
    const current = await deps.state.notifyMode(requester);
    return `You are told that a job is done by ${describe[current]}. Change it with \`/flux notify thread|dm|off\`.`;
  }
  await deps.state.setNotifyMode(requester, mode);
  return `From now on you are told that a job is done by ${describe[mode]}.`;
}

/** Whether `userId` may cancel a job: its requester, or an admin of the platform. */
export function mayCancel(data: JobData, userId: string, access: AccessRules): boolean {
  const platform = data.target.platform;
  if (data.target.userId === userId) return true;
  return platform !== 'cli' && (access.admins[platform] ?? []).includes(userId);
}

/** Cancels a job for a user who pressed Cancel; the answer is for that user only. */
export async function cancelFor(
  jobId: string,
  userId: string,
  deps: Pick<InteractionDeps, 'queue' | 'access' | 'admission'>,
): Promise<{ text: string; removed?: JobData; refused?: boolean }> {
  const found = await deps.queue.find(jobId);
  if (!found) return { text: 'That job is no longer known; there is nothing to cancel.' };
  if (!mayCancel(found.data, userId, deps.access))
    return { text: 'Only the person who asked, or an admin, can cancel this job.', refused: true };
  const outcome = await deps.queue.cancel(jobId, userId);
  switch (outcome) {
    case 'removed':
      // It never reaches a worker, which would have released it; if Redis fails here, the sweep releases it.
      await deps.admission.release(jobId).catch(() => undefined);
      return { text: 'Cancelled before it started. Nothing was charged.', removed: found.data };
    case 'stopping':
      return { text: 'Cancelling: the request to Together is being stopped.' };
    case 'ended':
      return { text: 'That job has already finished; there is nothing to cancel.' };
    default:
      return { text: 'That job is no longer known; there is nothing to cancel.' };
  }
}

/** Regenerate an image: the same request with a new seed. */
export async function regeneration(
  jobId: string,
  deps: Pick<InteractionDeps, 'queue' | 'settings' | 'random'>,
): Promise<Planned | string> {
  const found = await deps.queue.find(jobId);
  if (!found) return 'That result is too old to regenerate: its recipe is no longer kept.';
  const data = found.data;
  if (data.kind !== 'flux') return 'Only images can be regenerated.';
  const request = { ...data.request, seed: newSeed(deps.random) };
  return planForPlatform({ kind: 'flux', request, notices: [] }, deps);
}

/** The Details view of a job. */
export async function detailsFor(jobId: string, deps: Pick<InteractionDeps, 'queue'>): Promise<string> {
  const found = await deps.queue.find(jobId);
  if (!found) return 'That result is too old: its recipe is no longer kept.';
  return recipeText(jobId, found.data, String(found.data.body.model));
}

/** `/flux jobs` as text lines (the platforms add a Cancel button per job). */
export async function listJobs(requester: Requester, deps: Pick<InteractionDeps, 'queue'>) {
  const jobs = await deps.queue.jobsOf(requester);
  return { jobs, lines: jobs.map(listedJobLine), empty: jobs.length === 0 ? NO_JOBS : undefined };
}

/**
 * A follow-up question in a conversation: the question planned with the conversation's earlier turns. For a
 * vision model the earlier turns keep their pictures, the newest first, as many as fit beside the question's own
 * under `chat.max_images`.
 */
export async function followUp(
  asked: { conversationKey: string; threadId: string; question: string; images?: SourceImage[] },
  askerId: string,
  deps: Pick<InteractionDeps, 'state' | 'settings' | 'contextTokens'>,
): Promise<Planned & { followUp: NonNullable<Planned['followUp']> }> {
  const turns = await deps.state.conversationTurns(asked.conversationKey);
  const history = trimHistory(turns, deps.contextTokens, askerId);
  // The conversation keeps the model it started with, while that model is still configured.
  const started = turns.findLast((turn) => turn.role === 'user' && turn.model)?.model;
  const model = started && deps.settings.chat.models[started] ? started : deps.settings.chat.defaultModel;
  const own = asked.images ?? [];
  const room = deps.settings.chat.models[model]?.vision ? maxImages(deps.settings) - own.length : 0;
  const earlier = historyWithImages(history.turns, room);
  const images = [...earlier.images, ...own];
  const request: ChatRequest = {
    question: asked.question,
    model,
    ...(images.length > 0 ? { images } : {}),
    ...(earlier.images.length > 0 ? { earlierImages: earlier.images.length } : {}),
  };
  const command: AcceptedCommand = { kind: 'ask', request, notices: [] };
  const left = earlier.dropped;
  const note = left > 0 ? `${history.note} ${plural(left, 'older picture')} left out.` : history.note;
  return {
    command,
    plan: planCommand(command, deps.settings, earlier.messages),
    followUp: { conversationKey: asked.conversationKey, threadId: asked.threadId, note },
  };
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? ' was' : 's were'}`;
}
