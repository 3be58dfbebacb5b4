import type { App, BlockAction } from '@slack/bolt';
import type { FeedbackVote, FeedbackVotes } from '../../core/feedback.js';
import type { Logger, Telemetry } from '../../core/ports.js';
import { escapeSlackText } from './slack-text.js';

/** The `action_id` of the 👍/👎 buttons under an answer. */
export const FEEDBACK_ACTION = 'lorabot_feedback';

/**
 * The footer of a finished answer: its cost line, and 👍/👎 (a `feedback_buttons` element in a
 * `context_actions` block) whose values carry the vote and the job.
 * @see https://docs.slack.dev/reference/block-kit/block-elements/feedback-buttons-element
 * @see https://docs.slack.dev/reference/block-kit/blocks/context-actions-block
 */
export function answerFooter(jobId: string, costText: string): Array<Record<string, unknown>> {
  return [
    { type: 'context', elements: [{ type: 'mrkdwn', text: escapeSlackText(costText) }] },
    {
      type: 'context_actions',
      elements: [
        {
          type: 'feedback_buttons',
          action_id: FEEDBACK_ACTION,
          positive_button: {
            text: { type: 'plain_text', text: '👍' },
            accessibility_label: 'A good answer',
            value: `up:${jobId}`,
          },
          negative_button: {
            text: { type: 'plain_text', text: '👎' },
            accessibility_label: 'Not a good answer',
            value: `down:${jobId}`,
          },
        },
      ],
    },
  ];
}

/** A pressed feedback button's value (`up:<job id>`, `down:<job id>`), or undefined for anything else. */
export function readVote(value: string | undefined): { vote: FeedbackVote; jobId: string } | undefined {
  const match = /^(up|down):(.{1,200})$/.exec(value ?? '');
  return match ? { vote: match[1] as FeedbackVote, jobId: match[2]! } : undefined;
}

/**
 * 👍/👎 under an answer: one vote per person per job, which a later press changes. The press is acked first;
 * a vote that cannot be recorded is logged, and the person sees the button state Slack keeps.
 */
export function registerSlackFeedback(
  app: App,
  deps: { votes: FeedbackVotes; logger: Logger; telemetry: Telemetry },
): void {
  const { votes, logger, telemetry } = deps;
  app.action<BlockAction>(FEEDBACK_ACTION, async ({ ack, body, action }) => {
    await ack();
    const pressed = readVote((action as { value?: string }).value);
    if (!pressed) return;
    const voter = {
      platform: 'slack' as const,
      workspaceId: body.team?.id ?? body.user.team_id ?? '',
      userId: body.user.id,
    };
    try {
      const previous = await votes.vote(pressed.jobId, voter, pressed.vote);
      const change = previous === undefined ? 'new' : previous === pressed.vote ? 'same' : 'changed';
      telemetry.feedback?.('slack', pressed.vote, change);
    } catch (error) {
      logger.warn({ jobId: pressed.jobId, err: String(error) }, 'could not record feedback');
    }
  });
}
