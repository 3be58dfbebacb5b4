import { isAllowed, NOT_ENABLED_HERE } from '../core/access.js';
import { parseCommand, parseCommandLine } from '../core/command-parser.js';
import { editProblem } from '../core/edit-model.js';
import { ASK_HELP, FLUX_HELP } from '../core/help-text.js';
import { jobView, type PendingCommand } from '../core/jobs.js';
import type { ChatRequest, ImageRequest, ParsedCommand, SourceImage } from '../core/requests.js';
import { DEFAULT_IMAGE_QUESTION, imagesRefusal, withAttachments } from '../core/vision.js';
import type { ChatPlatform, InboundEvent, InboundInput } from './chat-platform.js';
import { commandOfLine } from './command-line.js';
import {
  draftEditor,
  NO_EDITOR,
  NO_IMAGE,
  pressedAgain,
  resultEditor,
  sourcesRefusal,
  submittedEdit,
} from './image-edits.js';
import {
  budgetRefusal,
  CONFIRM_TTL_SECONDS,
  cancelFor,
  confirmQuestion,
  detailsFor,
  followUp,
  type InboundDeps,
  infoText,
  linkRefusal,
  listJobs,
  notifySetting,
  type Planned,
  pendingRun,
  planForPlatform,
} from './intake.js';
import { type EventContext, errorText, launch, UNAVAILABLE } from './launch.js';
import {
  addModel,
  dismissFineTune,
  joinWatch,
  openModelForm,
  runFineTune,
  startFineTune,
  startWatch,
} from './watch-flow.js';

/** Said when a confirmation is cancelled. */
const DISMISSED = 'Cancelled. Nothing was queued or charged.';

/**
 * The inbound half's one service: every entry point on every platform (slash command, mention, DM, thread
 * follow-up, button, "Edit with lorabot", a sent Edit form, web) hands it a translated event and a `ChatPlatform`,
 * and every rule runs here once, in this order: access, parsing, presets for the place (in the parser), budgets,
 * confirmation above the threshold (commands, follow-ups, Regenerate, Vary and Edit alike), claiming, queueing,
 * undo on failure, and one count in `lorabot_commands_total` per event.
 */
export class InboundService {
  constructor(private readonly deps: InboundDeps) {}

  /**
   * The conversation a message continues, if any: the first of `refs` (platform message or thread ids, most
   * specific first) that leads to one. Adapters call it while translating a message into a follow-up.
   */
  async findConversation(platform: InboundEvent['requester']['platform'], refs: readonly string[]) {
    for (const ref of refs) {
      const key = await this.deps.state.findConversation(platform, ref);
      if (key) return key;
    }
    return undefined;
  }

  /** Handles one event to the end; never throws (a failure is logged, counted and told). */
  async handle(event: InboundEvent, platform: ChatPlatform): Promise<void> {
    const count = (kind: string, outcome: string) =>
      this.deps.telemetry?.command({ platform: event.requester.platform, entry: event.entry, kind, outcome });
    const context: EventContext = { event, platform, count };
    const kind = kindOf(event.input);
    if (!isAllowed(this.deps.access, event.place)) {
      await platform.tell(NOT_ENABLED_HERE);
      count(kind, 'not_allowed');
      return;
    }
    try {
      const input = event.input;
      if (input.type === 'line') await this.line(context, input);
      else if (input.type === 'command') await this.command(context, input);
      else if (input.type === 'follow-up') await this.followUp(context, input);
      else if (input.type === 'press') await this.press(context, input);
      else if (input.type === 'edit-message') await this.openEditor(context, input.images);
      else if (input.type === 'add-model') await addModel(context, input, this.deps);
      else await this.submitEdit(context, input);
    } catch (error) {
      this.deps.logger.error(
        { requestKey: event.requestId, entry: event.entry, err: errorText(error) },
        'could not handle a request',
      );
      count(kind, 'unavailable');
      await platform.tell(UNAVAILABLE);
    }
  }

  private async command(context: EventContext, input: Extract<InboundInput, { type: 'command' }>) {
    const { event, platform, count } = context;
    const text = questionText(input.kind, input.text, input.images);
    const parsed = parseCommand(input.kind, text, this.deps.settings, event.place);
    if (!parsed.success) {
      await platform.tell(parsed.error.message);
      count(input.kind, 'user_error');
      return;
    }
    const data = parsed.data;
    if (data.kind !== 'flux' && data.kind !== 'ask') return this.answer(context, data, input.kind);
    const command = withAttachments(data, input.images);
    if (command.kind === 'ask' && (await this.refuseImages(context, command.request, false))) return;
    if (command.kind === 'flux' && (await this.refuseSources(context, command.request, input.images))) return;
    await platform.ack();
    if (await this.refuseLinks(context, input.kind, data.request.images)) return;
    const attached = command.kind === 'ask' && input.images?.length ? { images: input.images } : {};
    await this.request(context, planForPlatform(command, this.deps), { kind: input.kind, text, ...attached });
  }

  /** Tells why a question's pictures cannot be sent, if they cannot (nothing is queued then). */
  private async refuseImages(context: EventContext, request: ChatRequest, inConversation: boolean) {
    const refusal = imagesRefusal(request, this.deps.settings, { inConversation });
    if (!refusal) return false;
    await context.platform.tell(refusal);
    context.count('ask', 'user_error');
    return true;
  }

  /**
   * Why an image request cannot start from the files attached to the message (not pictures, too large, more than
   * the edit model takes), if it cannot: told, and nothing is queued.
   */
  private async refuseSources(
    context: EventContext,
    request: ImageRequest,
    attached: readonly SourceImage[] | undefined,
  ) {
    if (!attached?.length) return false;
    const problem = editProblem(request, this.deps.settings.image)?.message;
    const refused =
      sourcesRefusal(attached, this.deps.settings) ??
      (problem ? { refusal: problem, outcome: 'user_error' } : undefined);
    if (!refused) return false;
    await context.platform.tell(refused.refusal);
    context.count('flux', refused.outcome);
    return true;
  }

  /** Tells why a typed `--image` link cannot be read, if one cannot; after the ack (the look may take seconds). */
  private async refuseLinks(context: EventContext, kind: 'flux' | 'ask', typed: SourceImage[] | undefined) {
    const refusal = await linkRefusal(typed, this.deps);
    if (refusal) await context.platform.tell(refusal);
    if (refusal) context.count(kind, 'user_error');
    return refusal !== undefined;
  }

  /** A typed line: the command it names (with the images sent with it), or the parser's "unknown command". */
  private async line(context: EventContext, input: Extract<InboundInput, { type: 'line' }>) {
    const { text, images } = input;
    const command = commandOfLine(text);
    if (command) return this.command(context, images?.length ? { ...command, images } : command);
    const parsed = parseCommandLine(text, this.deps.settings);
    await context.platform.tell(parsed.success ? FLUX_HELP : parsed.error.message);
    context.count('unknown', 'user_error');
  }

  private async followUp(context: EventContext, input: Extract<InboundInput, { type: 'follow-up' }>) {
    const { event, platform, count } = context;
    const text = questionText('ask', input.question, input.images);
    const parsed = parseCommand('ask', text, this.deps.settings, event.place);
    if (!parsed.success) {
      await platform.tell(parsed.error.message);
      count('ask', 'user_error');
      return;
    }
    const data = parsed.data;
    if (data.kind === 'flux') return; // not a result of parsing as `ask`
    if (data.kind !== 'ask') return this.answer(context, data, 'ask');
    await platform.ack();
    if (await this.refuseLinks(context, 'ask', data.request.images)) return;
    const question = data.request.question;
    const images = input.images?.length ? { images: input.images } : {};
    // The question's own pictures: links written in it (`--image`), then the files attached to the message.
    const own = [...(data.request.images ?? []), ...(input.images ?? [])];
    const asked = { conversationKey: input.conversationKey, threadId: input.threadId, question, images: own };
    const planned = await followUp(asked, event.requester.userId, this.deps);
    if (planned.command.kind === 'ask' && (await this.refuseImages(context, planned.command.request, true)))
      return;
    await this.request(context, planned, {
      kind: 'ask',
      text,
      ...images,
      followUp: { conversationKey: input.conversationKey, threadId: input.threadId },
    });
  }

  /** What is answered at once instead of queued: help, `/flux presets|models|usage|jobs`, `/flux notify`. */
  private async answer(context: EventContext, command: Answered, asked: 'flux' | 'ask'): Promise<void> {
    const { event, platform, count } = context;
    if (command.kind === 'help') {
      await platform.tell(command.topic === 'ask' ? ASK_HELP : FLUX_HELP);
      count(asked, 'help');
      return;
    }
    if (command.kind === 'watch')
      return startWatch(context, { id: command.id, kind: command.watched }, this.deps);
    if (command.kind === 'finetune') return startFineTune(context, command.finetune, this.deps);
    await platform.ack('private');
    const requester = event.requester;
    if (command.kind === 'notify') {
      await platform.tell(await notifySetting(command.mode, requester, this.deps));
      count('notify', 'answered');
    } else if (command.topic === 'jobs') {
      const { jobs, lines, empty } = await listJobs(requester, this.deps);
      await (empty ? platform.tell(empty) : platform.showJobs(jobs, lines));
      count('info', 'answered');
    } else {
      await platform.tell(await infoText(command.topic, requester, event.place, this.deps));
      count('info', 'answered');
    }
  }

  /** Budgets, then the confirmation above the threshold, then the launch. */
  private async request(
    context: EventContext,
    planned: Planned,
    asked: Omit<PendingCommand, 'requester' | 'place'>,
  ): Promise<void> {
    const { event, platform, count } = context;
    const plan = planned.plan;
    const refusal = await budgetRefusal(plan.estimate.micros, event.requester, this.deps);
    if (refusal) {
      await platform.tell(refusal);
      count(plan.kind, 'over_budget');
      return;
    }
    const question = confirmQuestion(plan, this.deps);
    if (question) {
      const images = planned.command.kind === 'flux' ? planned.command.request.images : undefined;
      const pending: PendingCommand = {
        requester: event.requester,
        place: event.place,
        ...asked,
        ...(images?.length ? { images } : {}),
      };
      await this.deps.state.putPending(event.requestId, pending, CONFIRM_TTL_SECONDS);
      await platform.askToConfirm(question, plan.command, event.requestId);
      count(plan.kind, 'confirm');
      return;
    }
    await launch(this.deps, context, { ...planned, requestKey: event.requestId });
  }

  private async press(context: EventContext, input: Extract<InboundInput, { type: 'press' }>) {
    const { platform, count } = context;
    await platform.ack();
    switch (input.action) {
      case 'run':
        if (await runFineTune(context, input.id, this.deps)) return;
        return this.run(context, input.id);
      case 'dismiss':
        await dismissFineTune(input.id, this.deps);
        await this.deps.state.takePending(input.id);
        await platform.closeConfirmation('dismissed', DISMISSED);
        return count('dismiss', 'answered');
      case 'details':
        await platform.tell(await detailsFor(input.id, this.deps));
        return count('info', 'answered');
      case 'cancel':
        return this.cancel(context, input.id);
      case 'regenerate':
      case 'vary': {
        const again = await pressedAgain(input.action, input.id, this.deps);
        if ('refusal' in again) {
          await platform.tell(again.refusal);
          return count('flux', again.outcome);
        }
        return this.request(context, again, { kind: 'flux', text: pendingText(again) });
      }
      case 'watch':
        return joinWatch(context, input.id, this.deps);
      case 'add-model':
        return openModelForm(context, input.id, this.deps);
      case 'edit': {
        const editing = await resultEditor(input.id, this.deps);
        if (typeof editing === 'string') {
          await platform.tell(editing);
          return count('edit', 'expired');
        }
        return this.openEditor(context, editing.images, editing.text);
      }
    }
  }

  /** Edit on a result, or "Edit with lorabot" on a message: the editor opens on its images, if there are any. */
  private async openEditor(context: EventContext, images: SourceImage[], text = ''): Promise<void> {
    const { event, platform, count } = context;
    if (images.length === 0) {
      await platform.tell(NO_IMAGE);
      return count('edit', 'user_error');
    }
    // Someone's message may carry a file no edit can start from (too large, a type Together reads not).
    const refused = sourcesRefusal(images, this.deps.settings);
    if (refused) {
      await platform.tell(refused.refusal);
      return count('edit', refused.outcome);
    }
    if (!platform.openEditor) {
      await platform.tell(NO_EDITOR);
      return count('edit', 'user_error');
    }
    const { requester, place, requestId } = event;
    const editor = await draftEditor({ id: requestId, requester, place, text, images }, this.deps);
    await platform.openEditor(editor);
    count('edit', 'editor');
  }

  /** An editor's form came back: its prompt read as `/flux` text on its images, then the usual request. */
  private async submitEdit(context: EventContext, input: Extract<InboundInput, { type: 'edit' }>) {
    const { event, platform, count } = context;
    await platform.ack();
    const submitted = await submittedEdit(
      { draftId: input.draftId, text: input.text, presser: event.requester, place: event.place },
      this.deps,
    );
    if (!submitted.ok) {
      await platform.tell(submitted.message);
      return count('flux', submitted.outcome);
    }
    await this.request(context, submitted.planned, { kind: 'flux', text: pendingText(submitted.planned) });
  }

  /** Run on a confirmation: once, by the person who asked, planned again, then launched. */
  private async run(context: EventContext, pendingId: string): Promise<void> {
    const { event, platform, count } = context;
    const run = await pendingRun(pendingId, event.requester.userId, this.deps);
    if (!run.ok) {
      if (run.outcome === 'expired') await platform.closeConfirmation('expired', run.message);
      else await platform.tell(run.message);
      count('run', run.outcome);
      return;
    }
    await platform.closeConfirmation('running', `Running: ${run.planned.plan.command}`);
    const launching = { ...event, requester: run.pending.requester };
    await launch(this.deps, { ...context, event: launching }, { ...run.planned, requestKey: pendingId });
  }

  /** Cancel on a job: answered first (Discord's deadline); a job removed while queued gets its status set here. */
  private async cancel(context: EventContext, jobId: string): Promise<void> {
    const { event, platform, count } = context;
    const result = await cancelFor(jobId, event.requester.userId, this.deps);
    await platform.tell(result.text);
    const removed = result.removed;
    if (removed && removed.target.platform === event.requester.platform) {
      const status = { state: 'cancelled', by: event.requester.userId } as const;
      await platform.updateStatus(removed.target, jobView(jobId, removed), status);
    }
    count('cancel', result.refused ? 'refused' : 'answered');
  }
}

/**
 * The text to parse: as typed, or for a question that is a bare picture (attached, nothing written), the
 * question asked about it by default.
 */
function questionText(
  kind: 'flux' | 'ask',
  text: string,
  images: readonly SourceImage[] | undefined,
): string {
  if (kind !== 'ask' || !images?.length) return text;
  return /^\s*(?:(?:--|\u2014|\u2013)model(?:=\S+|\s+\S+)\s*)?$/iu.test(text)
    ? `${text.trim()} ${DEFAULT_IMAGE_QUESTION}`.trim()
    : text;
}

/** A request's text for a confirmation: the command without its name; Run parses it again (its seed too). */
function pendingText(planned: Planned): string {
  return planned.plan.command.replace(/^\/flux\s*/, '');
}

/** A command answered at once. */
type Answered = Exclude<ParsedCommand, { kind: 'flux' | 'ask' }>;

/** The `kind` label before anything is parsed. */
function kindOf(input: InboundInput): string {
  if (input.type === 'command') return input.kind;
  if (input.type === 'line') return commandOfLine(input.text)?.kind ?? 'unknown';
  if (input.type === 'follow-up') return 'ask';
  if (input.type === 'edit-message') return 'edit';
  if (input.type === 'edit') return 'flux';
  if (input.type === 'add-model') return 'add-model';
  const kinds: Record<string, string> = { regenerate: 'flux', vary: 'flux', details: 'info' };
  return kinds[input.action] ?? input.action;
}
