import { type CommandPlan, planCommand } from '../app/command-plan.js';
import { modelsText } from '../core/budget.js';
import { parseCommandLine } from '../core/command-parser.js';
import { ASK_HELP, FLUX_HELP } from '../core/help-text.js';
import { microsToUsd } from '../core/money.js';
import { presetsText } from '../core/presets.js';
import type { CoreSettings } from '../core/settings.js';

/** What `lorabot run --dry-run --json` prints: the request and its estimate, a help text, or the error a user would see. */
export type DryRunOutput =
  | {
      ok: true;
      kind: 'flux' | 'ask';
      request: Record<string, unknown>;
      estimate: { usd: number | null; text: string };
      /** What the user would be told besides (a rewritten link, a cheaper size); left out when there is nothing. */
      notices?: string[];
    }
  | { ok: true; kind: 'help'; text: string }
  | { ok: false; error: string };

/**
 * Parses, validates and prices a command without queueing anything or calling Together: the exact request body
 * that would be sent and its estimate. Notices (such as a rewritten link or a cheaper size) come back in the
 * output and separately, for a reader of the JSON and for the terminal.
 */
export function dryRun(line: string, settings: CoreSettings): { output: DryRunOutput; notices: string[] } {
  const parsed = parseCommandLine(line, settings);
  if (!parsed.success) return { output: { ok: false, error: parsed.error.message }, notices: [] };
  const command = parsed.data;
  if (command.kind === 'help') {
    return {
      output: { ok: true, kind: 'help', text: command.topic === 'flux' ? FLUX_HELP : ASK_HELP },
      notices: [],
    };
  }
  if (command.kind === 'watch' || command.kind === 'finetune') {
    return {
      output: {
        ok: false,
        error: `\`/ask ${command.kind}\` is answered in Slack, Discord and the web playground.`,
      },
      notices: [],
    };
  }
  if (command.kind === 'notify' || (command.kind === 'info' && command.topic === 'jobs')) {
    return {
      output: { ok: false, error: '`/flux notify` and `/flux jobs` are answered in Slack and Discord.' },
      notices: [],
    };
  }
  if (command.kind === 'info') {
    if (command.topic === 'usage') {
      return {
        output: { ok: false, error: 'usage needs the ledger: ask in chat, or run `lorabot usage --csv`.' },
        notices: [],
      };
    }
    const text = command.topic === 'presets' ? presetsText(settings) : modelsText(settings);
    return { output: { ok: true, kind: 'help', text }, notices: [] };
  }
  const plan: CommandPlan = planCommand(command, settings);
  return {
    output: {
      ok: true,
      kind: plan.kind,
      request: plan.body,
      estimate: {
        usd: plan.estimate.priced ? microsToUsd(plan.estimate.micros) : null,
        text: plan.estimate.text,
      },
      ...(command.notices.length > 0 ? { notices: command.notices } : {}),
    },
    notices: command.notices,
  };
}
