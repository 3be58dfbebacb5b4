import {
  type Budgets,
  checkBudget,
  hasBudgets,
  modelsText,
  presetsText,
  type Requester,
  usageText,
} from './core/budget.js';
import type { SpendReader } from './core/jobs.js';
import type { Telemetry } from './core/ports.js';
import type { InfoTopic } from './core/requests.js';
import type { CoreSettings } from './core/settings.js';

/** What the gateways share between accepting a command and queueing it: subcommand answers and budgets. */
export interface IntakeDeps {
  settings: CoreSettings;
  budgets: Budgets;
  spend: SpendReader;
  now: () => number;
  telemetry?: Telemetry;
}

/** The private answer to `/flux presets`, `/ask models` or `/flux usage`. */
export async function infoText(topic: InfoTopic, requester: Requester, deps: IntakeDeps): Promise<string> {
  if (topic === 'presets') return presetsText(deps.settings);
  if (topic === 'models') return modelsText(deps.settings);
  return usageText(await deps.spend.spend(requester, deps.now()), deps.budgets);
}

/** A budget refusal for a request that may cost `estimate` micro-dollars, or undefined when it fits. */
export async function budgetRefusal(
  estimate: number,
  requester: Requester,
  deps: IntakeDeps,
): Promise<string | undefined> {
  if (!hasBudgets(deps.budgets)) return undefined;
  return checkBudget(deps.budgets, await deps.spend.spend(requester, deps.now()), estimate)?.message;
}
