import type { App, RespondFn, SlashCommand } from '@slack/bolt';
import { jobData, planCommand } from '../../command-plan.js';
import { type AccessRules, isAllowed, NOT_ENABLED_HERE } from '../../core/access.js';
import { parseCommand } from '../../core/command-parser.js';
import { ASK_HELP, FLUX_HELP } from '../../core/help-text.js';
import type { JobQueue, SlackTarget } from '../../core/jobs.js';
import type { Logger } from '../../core/ports.js';
import { budgetRefusal, type IntakeDeps, infoText } from '../../intake.js';
import { parentMessage } from './slack-format.js';
import { escapeSlackText, unescapeSlackText } from './slack-text.js';

export interface SlackCommandDeps extends IntakeDeps {
  access: AccessRules;
  queue: JobQueue;
  logger: Logger;
  now: () => number;
}

const UNAVAILABLE =
  "lorabot can't take requests right now: its queue is unreachable. Nothing was queued or charged. Try again shortly.";

/**
 * `/flux` and `/ask`. Parsing is pure and takes microseconds, so the ack itself carries any user error (private,
 * nothing queued). An accepted command is acked at once with an empty body; then the request is claimed (a
 * redelivery stops here), the visible parent message is posted and the job is queued.
 * @see https://docs.slack.dev/interactivity/implementing-slash-commands
 */
export function registerSlackCommands(app: App, deps: SlackCommandDeps): void {
  app.command(/^\/(flux|ask)$/, async ({ command, ack, respond, client }) => {
    const kind = command.command === '/ask' ? 'ask' : 'flux';
    const count = (outcome: string) => deps.telemetry?.command('slack', kind, outcome);
    if (
      !isAllowed(deps.access, {
        platform: 'slack',
        workspaceId: command.team_id,
        channelId: command.channel_id,
      })
    ) {
      await ack({ response_type: 'ephemeral', text: NOT_ENABLED_HERE });
      count('not_allowed');
      return;
    }
    const parsed = parseCommand(kind, unescapeSlackText(command.text ?? ''), deps.settings);
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
    const requester = {
      platform: 'slack' as const,
      workspaceId: command.team_id,
      channelId: command.channel_id,
      userId: command.user_id,
    };
    if (parsed.data.kind === 'info') {
      count('info');
      const text = await infoText(parsed.data.topic, requester, deps).catch(() => UNAVAILABLE);
      await tellUser(respond, escapeSlackText(text));
      return;
    }
    const accepted = parsed.data;
    const requestKey = slackRequestKey(command);
    const log = { requestKey, kind, team: command.team_id, channel: command.channel_id };
    let claimed = false;
    let parentTs: string | undefined;
    let shownCommand = '';
    try {
      const plan = planCommand(accepted, deps.settings);
      const refusal = await budgetRefusal(plan.estimate.micros, requester, deps);
      if (refusal) {
        await tellUser(respond, escapeSlackText(refusal));
        count('over_budget');
        return;
      }
      claimed = await deps.queue.claim(requestKey);
      if (!claimed) {
        deps.logger.info(log, 'duplicate slash command ignored');
        count('duplicate');
        return;
      }
      shownCommand = plan.command;
      const position = await deps.queue.position(plan.kind);
      const parent = await client.chat.postMessage({
        channel: command.channel_id,
        ...parentMessage(command.user_id, plan.command, { state: 'queued', position }),
        unfurl_links: false,
        unfurl_media: false,
      });
      parentTs = String(parent.ts);
      const target: SlackTarget = {
        platform: 'slack',
        teamId: command.team_id,
        channelId: command.channel_id,
        userId: command.user_id,
        parentTs,
      };
      await deps.queue.enqueue(requestKey, jobData(accepted, plan, target, deps.now()));
      deps.logger.info({ ...log, jobId: requestKey }, 'job queued');
      count('queued');
      if (accepted.notices.length > 0) {
        // Queued already: a failure to tell the notice must not undo that.
        await tellUser(respond, escapeSlackText(accepted.notices.join('\n')));
      }
    } catch (error) {
      deps.logger.error(
        { ...log, err: error instanceof Error ? error.message : String(error) },
        'could not queue a command',
      );
      if (claimed) await deps.queue.release(requestKey).catch(() => undefined);
      count('unavailable');
      const text = failureText(error);
      if (parentTs) {
        // Leave nothing half-done: the parent says it was not queued, instead of "Queued" forever.
        const failed = parentMessage(command.user_id, shownCommand, { state: 'failed', reason: text });
        await client.chat
          .update({ channel: command.channel_id, ts: parentTs, ...failed })
          .catch(() => undefined);
      }
      await tellUser(respond, text);
    }
  });
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

async function tellUser(respond: RespondFn, text: string): Promise<void> {
  await respond({ response_type: 'ephemeral', text }).catch(() => undefined);
}
