import type { App } from '@slack/bolt';
import type { Logger } from '../../core/ports.js';
import { redactText } from '../../core/redact-text.js';

/** One request from Slack, whether it came over HTTP or Socket Mode, with the way to answer it. */
export interface SlackEnvelope {
  body: Record<string, unknown>;
  /** Sends the answer (HTTP: the response; Socket Mode: the envelope's ack). Called once. */
  ack(response?: unknown): Promise<void>;
  retryNum?: number;
  retryReason?: string;
}

/**
 * Slack waits 3 s for an answer; an envelope no listener answered by then gets an empty 200 a little before,
 * so Slack never counts it as a failed delivery.
 * @see https://docs.slack.dev/apis/events-api/#responding
 */
export const SLACK_ACK_DEADLINE_MS = 2500;

/** What an envelope is, for logs: `command /flux`, `event message`, `block_actions`, `app_rate_limited`. */
export function envelopeKind(body: Record<string, unknown>): string {
  if (typeof body.command === 'string') return `command ${body.command}`;
  const event = body.event as { type?: unknown } | undefined;
  if (event && typeof event.type === 'string') return `event ${event.type}`;
  return typeof body.type === 'string' ? body.type : 'unknown';
}

/**
 * Hands one envelope to Bolt and makes sure it is answered: `app_rate_limited` (which Bolt cannot route) is
 * logged as a warning with its minute and acked at once; anything no listener acks (an event or payload lorabot
 * does not use) is acked when Bolt is done with it, or at {@link SLACK_ACK_DEADLINE_MS} at the latest; a
 * failure is logged with the envelope's kind and never leaves this function.
 * @see https://docs.slack.dev/reference/events/app_rate_limited
 */
export async function dispatchEnvelope(
  app: App,
  envelope: SlackEnvelope,
  options: { logger: Logger; deadlineMs?: number },
): Promise<void> {
  const { body } = envelope;
  const kind = envelopeKind(body);
  let acked = false;
  const ack = async (response?: unknown) => {
    if (acked) return;
    acked = true;
    await envelope.ack(response);
  };
  if (body.type === 'app_rate_limited') {
    options.logger.warn(
      { component: 'slack', teamId: body.team_id, minuteRateLimited: body.minute_rate_limited },
      'Slack is holding back events for this workspace (app_rate_limited)',
    );
    await ack();
    return;
  }
  const late = setTimeout(() => {
    if (acked) return;
    options.logger.warn(
      { component: 'slack', kind },
      'no Slack listener answered in time; acknowledged empty',
    );
    ack().catch((error: unknown) => logSlackFailure(options.logger, kind, error));
  }, options.deadlineMs ?? SLACK_ACK_DEADLINE_MS);
  try {
    await app.processEvent({
      body,
      ack,
      ...(envelope.retryNum === undefined ? {} : { retryNum: envelope.retryNum }),
      ...(envelope.retryReason === undefined ? {} : { retryReason: envelope.retryReason }),
    });
  } catch (error) {
    logSlackFailure(options.logger, kind, error);
  } finally {
    clearTimeout(late);
  }
  if (!acked) {
    options.logger.debug({ component: 'slack', kind }, 'no Slack listener for this envelope; acknowledged');
    await ack().catch((error: unknown) => logSlackFailure(options.logger, kind, error));
  }
}

/**
 * A throw while Slack's handling ran (a listener, Bolt's own routing, an ack): logged with what arrived, never
 * rethrown. Bolt wraps a listener's error; the original is what says what went wrong. Its text may quote
 * anything, so it is redacted like SDK log lines.
 */
export function logSlackFailure(logger: Logger, kind: string, error: unknown): void {
  const original = (error as { original?: unknown } | undefined)?.original ?? error;
  const err =
    original instanceof Error
      ? {
          name: original.name,
          message: redactText(original.message),
          stack: redactText(original.stack ?? ''),
        }
      : { message: redactText(String(original)) };
  logger.error({ component: 'slack', kind, err }, 'handling a Slack request failed');
}
