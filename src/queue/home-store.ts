import type { Budgets, Requester } from '../core/budget.js';
import { HOME_JOBS, type HomeData, type HomeJob, type HomePerson, type HomeSource } from '../core/home.js';
import type { GatewayState } from '../core/jobs.js';
import type { CoreSettings } from '../core/settings.js';
import type { Ledger } from './ledger.js';
import { pushCapped } from './lua-script.js';
import type { RedisClient } from './redis-connection.js';
import type { RedisKeys } from './redis-keys.js';

/** A person's recent jobs are kept 30 days after the last one ended. */
const JOBS_TTL_SECONDS = 30 * 86_400;

/**
 * A Slack person's Home tab figures: their spend from the ledger, the budgets and presets from the settings, their
 * `/flux notify` setting, and their last jobs from a short list per person (`<prefix>:home:jobs:slack:<team>:<user>`,
 * the newest 10) written when each job ends.
 */
export class HomeStore implements HomeSource {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly from: {
      ledger: Ledger;
      state: Pick<GatewayState, 'notifyMode'>;
      budgets: Budgets;
      settings: CoreSettings;
    },
  ) {}

  private key(person: HomePerson): string {
    return `${this.keys.prefix}:home:jobs:slack:${person.workspaceId}:${person.userId}`;
  }

  async record(person: HomePerson, job: HomeJob): Promise<void> {
    await pushCapped(this.redis, this.key(person), JSON.stringify(job), {
      max: HOME_JOBS,
      ttlSeconds: JOBS_TTL_SECONDS,
    });
  }

  async read(person: HomePerson, now: number): Promise<HomeData> {
    // Spend per person does not depend on the channel; the channel's total is not shown.
    const requester: Requester = { platform: 'slack', ...person, channelId: '' };
    const [rows, spend, notify] = await Promise.all([
      this.redis.lrange(this.key(person), 0, HOME_JOBS - 1),
      this.from.ledger.spend(requester, now),
      this.from.state.notifyMode(requester),
    ]);
    return {
      spentToday: spend.userDay,
      spentThisMonth: spend.userMonth,
      workspaceThisMonth: spend.workspaceMonth,
      budgets: this.from.budgets,
      jobs: rows.map((row) => JSON.parse(row) as HomeJob),
      presets: Object.values(this.from.settings.loras),
      notify,
    };
  }
}
