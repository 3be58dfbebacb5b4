import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { InboundEvent } from '../../app/chat-platform.js';
import type { InboundService } from '../../app/inbound-service.js';
import type { HomePerson, HomeSource } from '../../core/home.js';
import type { SlackTarget } from '../../core/jobs.js';
import type { Logger } from '../../core/ports.js';
import { ephemeralPlatform, interactionEvent, type SlackCommandDeps } from './slack-commands.js';
import type { SlackEndedJob } from './slack-deliverer.js';
import { HOME_ACTIONS, type HomeRegenerate, homeView } from './slack-home-view.js';
import { SlackPlatform } from './slack-platform.js';

/** A person's Home tab is published again at most this often when their jobs end (views.publish is Tier 4). */
export const HOME_REPUBLISH_MS = 10_000;

/**
 * Publishes Home tabs (`views.publish`): at once when a person opens theirs, and again when one of their jobs
 * ends, at most once per `minIntervalMs` per person in this process: jobs that end closer together are shown
 * by one publish at the end of the interval.
 * @see https://docs.slack.dev/reference/methods/views.publish
 */
export class SlackHome {
  private readonly lastAt = new Map<string, number>();
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(
    private readonly client: WebClient,
    private readonly source: HomeSource,
    private readonly options: { logger: Logger; minIntervalMs?: number; now?: () => number },
  ) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  async publish(person: HomePerson): Promise<void> {
    const key = personKey(person);
    const pending = this.timers.get(key);
    if (pending) clearTimeout(pending);
    this.timers.delete(key);
    this.lastAt.set(key, this.now());
    const view = homeView(await this.source.read(person, this.now()));
    await this.client.views.publish({ user_id: person.userId, view } as unknown as Parameters<
      WebClient['views']['publish']
    >[0]);
  }

  /** Keeps the job among the person's last ones and publishes their Home tab again, rate-limited. */
  async jobEnded(target: SlackTarget, ended: SlackEndedJob): Promise<void> {
    const person = { workspaceId: target.workspaceId, userId: target.userId };
    await this.source.record(person, { ...ended, channelId: target.channelId });
    this.schedule(person);
  }

  private schedule(person: HomePerson): void {
    const key = personKey(person);
    if (this.timers.has(key)) return;
    const interval = this.options.minIntervalMs ?? HOME_REPUBLISH_MS;
    const wait = Math.max(0, (this.lastAt.get(key) ?? Number.NEGATIVE_INFINITY) + interval - this.now());
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.publish(person).catch((error: unknown) =>
        this.options.logger.warn(
          { userId: person.userId, err: String(error) },
          'could not publish a Home tab',
        ),
      );
    }, wait);
    timer.unref();
    this.timers.set(key, timer);
  }

  /** Drops publishes still waiting (the process is stopping; the next open publishes afresh). */
  async close(): Promise<void> {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}

function personKey(person: HomePerson): string {
  return `${person.workspaceId}:${person.userId}`;
}

/**
 * The Home tab in the gateway: `app_home_opened` publishes it; its Regenerate and notification buttons go through
 * the one inbound service like any press or `/flux notify`, after which the tab is published again. Regenerate
 * runs in the channel the job ran in (the tab has none), and its private answers are ephemeral there.
 * @see https://docs.slack.dev/reference/events/app_home_opened
 */
export function registerSlackHome(
  app: App,
  parts: { home: SlackHome; service: InboundService; deps: SlackCommandDeps },
): void {
  const { home, service, deps } = parts;
  app.event('app_home_opened', async ({ event, body }) => {
    if (event.tab && event.tab !== 'home') return;
    const workspaceId = (body as { team_id?: string }).team_id ?? '';
    await home.publish({ workspaceId, userId: event.user });
  });
  app.action<BlockAction<ButtonAction>>(HOME_ACTIONS.regenerate, async ({ ack, body, action, client }) => {
    await ack();
    const pressed = readRegenerate(action.value);
    if (!pressed) return;
    const input = { type: 'press', action: 'regenerate', id: pressed.job } as const;
    const event = homePress(deps, body, { channelId: pressed.channel, input });
    await service.handle(event, ephemeralPlatform(client, event.requester));
  });
  app.action<BlockAction<ButtonAction>>(HOME_ACTIONS.notify, async ({ ack, body, action, client }) => {
    await ack();
    const mode = action.value;
    if (mode !== 'thread' && mode !== 'dm' && mode !== 'off') return;
    const input = { type: 'command', kind: 'flux', text: `notify ${mode}` } as const;
    const event = homePress(deps, body, { channelId: '', input });
    // The answer is the Home tab itself, published again with the setting.
    const quiet = new SlackPlatform(client, event.requester, { send: async () => {} });
    await service.handle(event, quiet);
    await home.publish({ workspaceId: event.requester.workspaceId, userId: body.user.id });
  });
}

/** A press on the Home tab as an inbound event, in `channelId` (the tab itself is in no channel). */
function homePress(
  deps: SlackCommandDeps,
  body: BlockAction<ButtonAction>,
  press: { channelId: string; input: InboundEvent['input'] },
): InboundEvent {
  const workspaceId = body.team?.id ?? body.user.team_id ?? '';
  return interactionEvent(deps, {
    workspaceId,
    userId: body.user.id,
    triggerId: body.trigger_id,
    entry: 'button',
    ...press,
  });
}

function readRegenerate(value: string | undefined): HomeRegenerate | undefined {
  try {
    const parsed = JSON.parse(value ?? '') as Partial<HomeRegenerate>;
    return typeof parsed.job === 'string' && typeof parsed.channel === 'string'
      ? { job: parsed.job, channel: parsed.channel }
      : undefined;
  } catch {
    return undefined;
  }
}
