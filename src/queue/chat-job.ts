import type { Job } from 'bullmq';
import type { ChatJobData, Deliverer, JobOutcome } from '../core/jobs.js';
import { isProviderFailure, type ProviderFailure } from '../core/lorabot-error.js';
import type { AttemptHooks, ChatResult, ChatUsage } from '../core/ports.js';
import { ThrottledEditor } from '../core/throttled-editor.js';
import { callTogether } from './billed-calls.js';
import { chatCost } from './job-costs.js';
import type { Steps } from './step-journal.js';
import { callOptions, errorText, type WorkerServices } from './worker-services.js';

/** One attempt of a job: where it goes, its journal, and the signal that aborts it. */
interface ChatRun {
  deliverer: Deliverer;
  steps: Steps;
  signal: AbortSignal | undefined;
}

/** A streamed answer broke off after text arrived: reported and charged already, not retried. */
export class StreamBrokeOff extends Error implements ProviderFailure {
  readonly mayBeBilled = true;
  readonly billed = false;
  readonly retryLater = false;
  constructor(readonly userMessage: string) {
    super(userMessage);
  }
}

/**
 * A chat job: the answer (streamed into one message where the platform can edit, else posted whole), saved before
 * delivery, the conversation's turns kept for follow-ups, charged once.
 */
export async function runChatJob(
  services: WorkerServices,
  job: Job<ChatJobData>,
  run: ChatRun,
): Promise<JobOutcome> {
  const id = job.id!;
  const data = job.data;
  const { deliverer, steps } = run;
  const streaming = deliverer.streaming;
  // The message a streamed answer grows in: opened once, found again by a retried job.
  const streamed = streaming
    ? await steps.value('answer:stream', (post) => streaming.open(data.target, post))
    : undefined;
  const result =
    (await services.journal.loadCheckpoint<ChatResult>(id)) ??
    (await askTogether(services, job, run, streamed));
  const cost = chatCost(services, data, result);
  const text =
    result.finishReason === 'length'
      ? `${result.text}\n\n(The answer reached the length limit.)`
      : result.text;
  const answer = text || '(The model returned an empty answer.)';
  if (deliverer.postFinalAnswer)
    await deliverer.postFinalAnswer(data.target, {
      jobId: id,
      text: answer,
      costText: cost.text,
      steps,
      ...(streamed ? { streamed } : {}),
    });
  else await deliverer.postAnswer(data.target, answer, steps, streamed);
  if (data.conversation && data.target.platform !== 'cli') {
    const ref = data.conversation;
    const aliases = [...ref.aliases, ...(streamed ? [streamed] : [])];
    const answer = result.text;
    // The question's own pictures are kept with its turn; those it carried from earlier turns are there already.
    const own = (data.request.images ?? []).slice(data.request.earlierImages ?? 0);
    await steps.once('conversation', () =>
      services.store.appendTurns(data.target.platform as 'slack' | 'discord', { ...ref, aliases }, [
        {
          role: 'user',
          content: data.request.question,
          userId: data.target.userId,
          model: data.request.model,
          ...(own.length > 0 ? { images: own } : {}),
        },
        { role: 'assistant', content: answer },
      ]),
    );
  }
  await services.finish(job, deliverer, steps, cost);
  return { kind: 'ask', costMicros: cost.micros, costText: cost.text, text: result.text };
}

/** Resolves the question's images (before the call is marked started), then asks Together. */
async function askTogether(
  services: WorkerServices,
  job: Job<ChatJobData>,
  run: ChatRun,
  streamed: string | undefined,
): Promise<ChatResult> {
  const body = await services.togetherBody(job, run.signal);
  return callTogether(services, job, {
    run: (attempts) =>
      streamed
        ? streamAnswer(services, job, run, { messageId: streamed, body, attempts })
        : services.timed('chat', () =>
            services.deps.chat.chat(body, { ...callOptions(job.data, run.signal), attempts }),
          ),
    save: (result) => result,
  });
}

/**
 * Streams the answer into one message, edited no faster than the platform allows. A stream that breaks off
 * after text arrived is not retried (that would write a different answer over it), and one that is cancelled
 * stops: either way the message keeps what arrived, with a note and its cost, the tokens are charged, and the job
 * ends there.
 */
async function streamAnswer(
  services: WorkerServices,
  job: Job<ChatJobData>,
  run: ChatRun,
  stream: { messageId: string; body: Record<string, unknown>; attempts: AttemptHooks },
): Promise<ChatResult> {
  const { messageId } = stream;
  const data = job.data;
  const streaming = run.deliverer.streaming!;
  const editor = new ThrottledEditor(
    (text) => streaming.preview(data.target, messageId, text),
    streaming.intervalFor?.(messageId) ?? streaming.editIntervalMs,
    (error) =>
      services.logger.warn({ jobId: job.id, err: errorText(error) }, 'could not show the answer so far'),
  );
  let partial = '';
  try {
    const result = await services.timed('chat', () =>
      services.deps.chat.streamChat(stream.body, {
        ...callOptions(data, run.signal),
        attempts: stream.attempts,
        onDelta: (delta) => {
          partial += delta;
          editor.offer(partial);
        },
      }),
    );
    await editor.settle();
    return result;
  } catch (error) {
    await editor.settle();
    const failure = isProviderFailure(error) ? error : undefined;
    if (run.signal?.aborted) {
      // Cancelled: what arrived stays, with its cost; Together billed the tokens it generated.
      if (partial) await keepPartial(services, job, run, { messageId, text: partial, cancelled: true });
      throw error;
    }
    const cut = failure?.partialText;
    if (!failure || !cut) throw error;
    // What arrived stays, with a note and its cost; Together billed the tokens it generated.
    await keepPartial(services, job, run, {
      messageId,
      text: cut,
      usage: failure.partialUsage,
      why: failure.userMessage,
    });
    throw new StreamBrokeOff(failure.userMessage);
  }
}

/**
 * An answer cut short, cancelled or broken off: the message keeps the text that arrived with a note and its cost,
 * and the tokens are charged, from Together's counts when it sent them, else estimated from the text.
 */
async function keepPartial(
  services: WorkerServices,
  job: Job<ChatJobData>,
  run: ChatRun,
  partial: {
    messageId: string;
    text: string;
    usage?: ChatUsage | undefined;
    cancelled?: boolean;
    why?: string;
  },
): Promise<void> {
  const { text, messageId } = partial;
  const note = partial.cancelled ? 'answer cancelled' : 'the answer stopped partway';
  const cost = chatCost(services, job.data, { text, usage: partial.usage, note });
  const said = partial.cancelled ? 'Cancelled.' : `${partial.why} What arrived is above.`;
  await run.deliverer.postAnswer(job.data.target, `${text}\n\n(${said} ${cost.text})`, run.steps, messageId);
  await services.chargeBilled(job, cost, note);
}
