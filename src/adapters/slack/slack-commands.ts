import type { App, BlockAction, ButtonAction, RespondFn, SlashCommand } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { CommandPlan } from '../../app/command-plan.js';
import { jobData } from '../../app/command-plan.js';
import {
  budgetRefusal,
  CONFIRM_TTL_SECONDS,
  cancelFor,
  confirmQuestion,
  detailsFor,
  followUp,
  type InteractionDeps,
  infoText,
  listJobs,
  notifySetting,
  pendingRun,
  planForPlatform,
  regeneration,
} from '../../app/intake.js';
import { isAllowed, NOT_ENABLED_HERE, type Place } from '../../core/access.js';
import type { Requester } from '../../core/budget.js';
import { parseCommand } from '../../core/command-parser.js';
import { ASK_HELP, FLUX_HELP } from '../../core/help-text.js';
import { type JobData, jobView, type SlackTarget } from '../../core/jobs.js';
import type { Logger } from '../../core/ports.js';
import type { AcceptedCommand } from '../../core/requests.js';
import { ACTIONS, button, parentMessage } from './slack-format.js';
import { escapeSlackText, unescapeSlackText } from './slack-text.js';

export interface SlackCommandDeps extends InteractionDeps {
  logger: Logger;
}

const UNAVAILABLE =
  "lorabot can't take requests right now: its queue is unreachable. Nothing was queued or charged. Try again shortly.";

/** A request ready to become a job, from a slash command, a Run or Regenerate button, or a thread reply. */
interface Launch {
  requester: Requester;
  command: AcceptedCommand;
  plan: CommandPlan;
  requestKey: string;
  /** Follow-ups: the thread they continue (its conversation) and what context they carry. */
  thread?: { ts: string; conversationKey: string; context: string };
  /** Tells the requester something privately. */
  tell: (text: string) => Promise<void>;
}

/**
 * `/flux` and `/ask`, their buttons, and replies in the bot's threads. Parsing is pure and takes microseconds, so
 * the ack itself carries any user error (private, nothing queued). An accepted command is acked at once with an
 * empty body; then the request is claimed (a redelivery stops here), the visible status message is posted and the
 * job is queued.
 * @see https://docs.slack.dev/interactivity/implementing-slash-commands
 */
export function registerSlackCommands(app: App, deps: SlackCommandDeps): void {
  app.command(/^\/(flux|ask)$/, async ({ command, ack, respond, client }) => {
    const kind = command.command === '/ask' ? 'ask' : 'flux';
    const count = (outcome: string) => deps.telemetry?.command('slack', kind, outcome);
    const place: Place = { platform: 'slack', workspaceId: command.team_id, channelId: command.channel_id };
    if (!isAllowed(deps.access, place)) {
      await ack({ response_type: 'ephemeral', text: NOT_ENABLED_HERE });
      count('not_allowed');
      return;
    }
    const text = unescapeSlackText(command.text ?? '');
    const parsed = parseCommand(kind, text, deps.settings, place);
    if (!parsed.success) {
      await ack({ response_type: 'ephemeral', text: escapeSlackText(parsed.error.message) });
      count('user_error');
      return;
    }
    if (parsed.data.kind === 'help') {
      await ack({
        response_type: 'ephemeral',
        text: escapeSlackText(kind === 'flux' ? FLUX_HELP : ASK_HELP),
      });
      count('help');
      return;
    }
    await ack();
    const requester: Requester = {
      platform: 'slack',
      workspaceId: command.team_id,
      channelId: command.channel_id,
      userId: command.user_id,
    };
    const tell = (message: string) => tellUser(respond, message);
    const data = parsed.data;
    if (data.kind === 'info' || data.kind === 'notify') {
      count(data.kind === 'info' ? data.topic : 'notify');
      try {
        if (data.kind === 'notify')
          await tell(escapeSlackText(await notifySetting(data.mode, requester, deps)));
        else if (data.topic === 'jobs') await respond(await jobsMessage(requester, deps));
        else await tell(escapeSlackText(await infoText(data.topic, requester, place, deps)));
      } catch {
        await tell(UNAVAILABLE);
      }
      return;
    }
    const requestKey = slackRequestKey(command);
    try {
      const { command: accepted, plan } = planForPlatform(data, deps);
      const refusal = await budgetRefusal(plan.estimate.micros, requester, deps);
      if (refusal) {
        await tell(escapeSlackText(refusal));
        count('over_budget');
        return;
      }
      const question = confirmQuestion(plan, deps);
      if (question) {
        await deps.state.putPending(requestKey, { requester, place, kind, text }, CONFIRM_TTL_SECONDS);
        await respond(confirmMessage(question, plan.command, requestKey));
        count('confirm');
        return;
      }
      await launch(client, deps, { requester, command: accepted, plan, requestKey, tell });
    } catch (error) {
      deps.logger.error({ requestKey, err: errorText(error) }, 'could not queue a command');
      count('unavailable');
      await tell(UNAVAILABLE);
    }
  });

  registerButtons(app, deps);
  registerThreadReplies(app, deps);
}

/**
 * Claims the request, posts its status message (in the channel, or in the thread for a follow-up), and queues
 * the job. Leaves nothing half done: a status message whose job could not be queued says so.
 */
async function launch(client: WebClient, deps: SlackCommandDeps, request: Launch): Promise<void> {
  const { requester, plan, requestKey } = request;
  const count = (outcome: string) => deps.telemetry?.command('slack', plan.kind, outcome);
  const log = { requestKey, kind: plan.kind, team: requester.workspaceId, channel: requester.channelId };
  let claimed = false;
  let statusTs: string | undefined;
  const view = {
    jobId: requestKey,
    kind: plan.kind,
    command: plan.command,
    ...(request.thread ? { context: request.thread.context } : {}),
  };
  try {
    claimed = await deps.queue.claim(requestKey);
    if (!claimed) {
      deps.logger.info(log, 'duplicate request ignored');
      count('duplicate');
      return;
    }
    const position = await deps.queue.position(plan.kind);
    const posted = await client.chat.postMessage({
      channel: requester.channelId,
      ...(request.thread ? { thread_ts: request.thread.ts } : {}),
      ...parentMessage(requester.userId, view, { state: 'queued', position }),
      unfurl_links: false,
      unfurl_media: false,
    });
    statusTs = String(posted.ts);
    const parentTs = request.thread?.ts ?? statusTs;
    const target: SlackTarget = {
      platform: 'slack',
      teamId: requester.workspaceId,
      channelId: requester.channelId,
      userId: requester.userId,
      parentTs,
      ...(request.thread ? { statusTs } : {}),
    };
    const data: JobData = jobData(request.command, plan, target, deps.now());
    if (request.thread) data.context = request.thread.context;
    if (data.kind === 'ask') {
      data.conversation = {
        key:
          request.thread?.conversationKey ??
          `slack:${requester.workspaceId}:${requester.channelId}:${parentTs}`,
        aliases: [],
      };
    }
    await deps.queue.enqueue(requestKey, data);
    deps.logger.info({ ...log, jobId: requestKey }, 'job queued');
    count('queued');
    if (request.command.notices.length > 0) {
      // Queued already: a failure to tell the notice must not undo that.
      await request.tell(escapeSlackText(request.command.notices.join('\n')));
    }
  } catch (error) {
    deps.logger.error({ ...log, err: errorText(error) }, 'could not queue a command');
    if (claimed) await deps.queue.release(requestKey).catch(() => undefined);
    count('unavailable');
    const text = failureText(error);
    if (statusTs) {
      const failed = parentMessage(requester.userId, view, { state: 'failed', reason: text });
      await client.chat
        .update({ channel: requester.channelId, ts: statusTs, ...failed })
        .catch(() => undefined);
    }
    await request.tell(text);
  }
}

/** Cancel, Regenerate, Details on status messages; Run and Cancel on a confirmation; Cancel in `/flux jobs`. */
function registerButtons(app: App, deps: SlackCommandDeps): void {
  const handle = (
    actionId: string,
    run: (args: {
      body: BlockAction;
      value: string;
      requester: Requester;
      client: WebClient;
      respond: RespondFn;
      tell: (text: string) => Promise<void>;
    }) => Promise<void>,
  ) => {
    app.action<BlockAction<ButtonAction>>(actionId, async ({ ack, body, action, client, respond }) => {
      await ack();
      const requester: Requester = {
        platform: 'slack',
        workspaceId: body.team?.id ?? body.user.team_id ?? '',
        channelId: body.channel?.id ?? '',
        userId: body.user.id,
      };
      const tell = (text: string) => tellUser(respond, text);
      if (!isAllowed(deps.access, { ...requester, platform: 'slack' })) {
        await tell(NOT_ENABLED_HERE);
        return;
      }
      try {
        await run({ body, value: action.value ?? '', requester, client, respond, tell });
      } catch (error) {
        deps.logger.error({ action: actionId, err: errorText(error) }, 'button failed');
        await tell(UNAVAILABLE);
      }
    });
  };

  handle(ACTIONS.cancel, async ({ value, requester, client, tell }) => {
    const result = await cancelFor(value, requester.userId, deps);
    const removed = result.removed;
    if (removed?.target.platform === 'slack') {
      // Removed before a worker saw it: the status is ours to set.
      const target = removed.target;
      await client.chat.update({
        channel: target.channelId,
        ts: target.statusTs ?? target.parentTs,
        ...parentMessage(target.userId, jobView(value, removed), {
          state: 'cancelled',
          by: requester.userId,
        }),
      });
    }
    await tell(escapeSlackText(result.text));
  });

  handle(ACTIONS.details, async ({ value, tell }) => {
    await tell(escapeSlackText(await detailsFor(value, deps)));
  });

  handle(ACTIONS.regenerate, async ({ body, value, requester, client, tell }) => {
    const again = await regeneration(value, deps);
    if (typeof again === 'string') return tell(escapeSlackText(again));
    const refusal = await budgetRefusal(again.plan.estimate.micros, requester, deps);
    if (refusal) return tell(escapeSlackText(refusal));
    const requestKey = slackRequestKey({ team_id: requester.workspaceId, trigger_id: body.trigger_id });
    await launch(client, deps, { requester, ...again, requestKey, tell });
  });

  handle(ACTIONS.run, async ({ value, requester, client, respond, tell }) => {
    const run = await pendingRun(value, requester.userId, deps);
    if (!run.ok) {
      if (run.expired) {
        await respond({ replace_original: true, text: run.message });
        return;
      }
      return tell(escapeSlackText(run.message));
    }
    const { pending, command, plan } = run;
    await respond({ replace_original: true, text: `Running: ${escapeSlackText(plan.command)}` });
    await launch(client, deps, { requester: pending.requester, command, plan, requestKey: value, tell });
  });

  handle(ACTIONS.dismiss, async ({ value, respond }) => {
    await deps.state.takePending(value);
    await respond({ replace_original: true, text: 'Cancelled. Nothing was queued or charged.' });
  });
}

/**
 * A message in a thread the bot started with `/ask` continues that conversation: the question goes to the model
 * with the thread's earlier turns. Slack retries an event it thinks was lost; the event id is claimed once.
 * @see https://docs.slack.dev/reference/events/message
 */
function registerThreadReplies(app: App, deps: SlackCommandDeps): void {
  app.event('message', async ({ event, body, client }) => {
    const message = event as {
      subtype?: string;
      bot_id?: string;
      user?: string;
      text?: string;
      ts: string;
      thread_ts?: string;
      channel: string;
    };
    if (message.subtype || message.bot_id || !message.user || !message.thread_ts) return;
    if (message.thread_ts === message.ts) return;
    const teamId = (body as { team_id?: string }).team_id ?? '';
    const requester: Requester = {
      platform: 'slack',
      workspaceId: teamId,
      channelId: message.channel,
      userId: message.user,
    };
    if (!isAllowed(deps.access, { ...requester, platform: 'slack' })) return;
    const key = await deps.state.findConversation(
      'slack',
      `${teamId}:${message.channel}:${message.thread_ts}`,
    );
    if (!key) return;
    const tell = async (text: string) => {
      await client.chat
        .postEphemeral({ channel: message.channel, user: message.user!, thread_ts: message.thread_ts, text })
        .catch(() => undefined);
    };
    // A leading mention of the bot is how people address it; it is not part of the question.
    const question = unescapeSlackText(message.text ?? '')
      .replace(/^\s*<@[A-Z0-9]+>\s*/, '')
      .trim();
    if (!question) return;
    const parsed = parseCommand('ask', question, deps.settings);
    if (!parsed.success) return tell(escapeSlackText(parsed.error.message));
    const eventId = (body as { event_id?: string }).event_id ?? `${message.channel}-${message.ts}`;
    try {
      const { command, plan, note } = await followUp(key, question, message.user, deps);
      const refusal = await budgetRefusal(plan.estimate.micros, requester, deps);
      if (refusal) return tell(escapeSlackText(refusal));
      await launch(client, deps, {
        requester,
        command,
        plan,
        requestKey: `slack-${teamId}-${eventId}`.replace(/[^\w.-]/g, '_'),
        thread: { ts: message.thread_ts, conversationKey: key, context: note },
        tell,
      });
    } catch (error) {
      deps.logger.error({ err: errorText(error) }, 'could not queue a follow-up');
      await tell(UNAVAILABLE);
    }
  });
}

/** `/flux jobs`: each queued or running job, with a Cancel button. */
async function jobsMessage(requester: Requester, deps: SlackCommandDeps) {
  const { jobs, lines, empty } = await listJobs(requester, deps);
  if (empty) return { response_type: 'ephemeral' as const, text: empty };
  const blocks = jobs.slice(0, 20).map((job, i) => ({
    type: 'section',
    text: { type: 'mrkdwn', text: escapeSlackText(lines[i]!) },
    accessory: button('Cancel', ACTIONS.cancel, job.jobId, 'danger'),
  }));
  return {
    response_type: 'ephemeral' as const,
    text: escapeSlackText(lines.join('\n')),
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*Your jobs*' } }, ...blocks],
  };
}

/** The Run / Cancel question for a costly request. */
function confirmMessage(question: string, command: string, pendingId: string) {
  return {
    response_type: 'ephemeral' as const,
    text: escapeSlackText(question),
    blocks: [
      {
        type: 'section',
        text: { type: 'mrkdwn', text: `${escapeSlackText(question)}\n\`${escapeSlackText(command)}\`` },
      },
      {
        type: 'actions',
        elements: [
          button('Run', ACTIONS.run, pendingId, 'primary'),
          button('Cancel', ACTIONS.dismiss, pendingId),
        ],
      },
    ],
  };
}

/** Slack sends no request id with a slash command; its `trigger_id` is unique per invocation. */
export function slackRequestKey(command: Pick<SlashCommand, 'team_id' | 'trigger_id'>): string {
  return `slack-${command.team_id}-${command.trigger_id}`.replace(/[^\w.-]/g, '_');
}

function failureText(error: unknown): string {
  const code = (error as { data?: { error?: string } }).data?.error;
  if (code === 'not_in_channel' || code === 'channel_not_found') {
    return 'lorabot is not in this channel, so it cannot post here. Invite it with `/invite @lorabot` and try again. Nothing was queued or charged.';
  }
  return UNAVAILABLE;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function tellUser(respond: RespondFn, text: string): Promise<void> {
  await respond({ response_type: 'ephemeral', text }).catch(() => undefined);
}
