import type { HomeData, HomeJob } from '../../core/home.js';
import type { NotifyMode } from '../../core/jobs.js';
import { formatUsd, type Micros } from '../../core/money.js';

const usd = (micros: Micros) => `$${formatUsd(micros)}`;

import { button } from './slack-format.js';
import { escapeSlackText } from './slack-text.js';

/** The `action_id`s of the Home tab's buttons. */
export const HOME_ACTIONS = {
  regenerate: 'lorabot_home_regenerate',
  notify: 'lorabot_home_notify',
} as const;

/** What a Home tab's Regenerate carries: the job, and the channel it ran in (the Home tab has none). */
export interface HomeRegenerate {
  job: string;
  channel: string;
}

const END_WORDS: Record<HomeJob['end'], string> = {
  done: ':white_check_mark: done',
  failed: ':x: failed',
  cancelled: ':no_entry_sign: cancelled',
};

const NOTIFY_WORDS: Record<NotifyMode, string> = {
  thread: 'a mention in the job’s thread',
  dm: 'a direct message',
  off: 'nothing (notifications are off)',
};

/**
 * A person's Home tab: spend today and this month against the budgets, their last jobs (thumbnail, cost,
 * Regenerate), the LoRA presets, and their notification setting with buttons to change it. All text from people
 * (commands, preset descriptions) is escaped. At most 100 blocks: 10 jobs take 20.
 * @see https://docs.slack.dev/surfaces/app-home
 */
export function homeView(data: HomeData): { type: 'home'; blocks: Array<Record<string, unknown>> } {
  return {
    type: 'home',
    blocks: [
      header('Your spend'),
      markdown(spendLines(data).join('\n')),
      { type: 'divider' },
      header('Your last jobs'),
      ...(data.jobs.length === 0
        ? [markdown('No jobs yet. Try `/flux a red panda` or `/ask` in a channel.')]
        : data.jobs.flatMap(jobBlocks)),
      { type: 'divider' },
      header('LoRA presets'),
      markdown(presetLines(data).join('\n')),
      { type: 'divider' },
      header('Notifications'),
      markdown(`When a job is done, you are told by ${NOTIFY_WORDS[data.notify]}.`),
      {
        type: 'actions',
        elements: (['thread', 'dm', 'off'] as const).map((mode) =>
          button(
            { thread: 'In the thread', dm: 'By DM', off: 'Off' }[mode],
            HOME_ACTIONS.notify,
            mode,
            mode === data.notify ? 'primary' : undefined,
          ),
        ),
      },
    ],
  };
}

function spendLines(data: HomeData): string[] {
  const { budgets } = data;
  return [
    `Today: *${usd(data.spentToday)}*${of(budgets.userPerDay, 'your daily budget')}`,
    `This month: *${usd(data.spentThisMonth)}*`,
    ...(budgets.workspacePerMonth !== null
      ? [
          `Your workspace this month: ${usd(data.workspaceThisMonth)}${of(budgets.workspacePerMonth, 'its budget')}`,
        ]
      : []),
  ];
}

function of(limit: Micros | null, what: string): string {
  return limit === null ? '' : ` of ${usd(limit)} (${what})`;
}

function jobBlocks(job: HomeJob): Array<Record<string, unknown>> {
  const when = Math.floor(job.at / 1000);
  const line = [
    `\`${escapeSlackText(job.command.replace(/`/g, 'ˋ')).slice(0, 2500)}\``,
    [
      END_WORDS[job.end],
      job.costText ? escapeSlackText(job.costText) : undefined,
      `<!date^${when}^{date_short_pretty} {time}|${new Date(job.at).toISOString()}>`,
    ]
      .filter(Boolean)
      .join(' · '),
  ].join('\n');
  const section: Record<string, unknown> = { type: 'section', text: { type: 'mrkdwn', text: line } };
  if (job.thumbnailFileId)
    section.accessory = {
      type: 'image',
      slack_file: { id: job.thumbnailFileId },
      alt_text: 'The first image',
    };
  if (job.kind !== 'flux') return [section];
  const value: HomeRegenerate = { job: job.jobId, channel: job.channelId };
  return [
    section,
    { type: 'actions', elements: [button('Regenerate', HOME_ACTIONS.regenerate, JSON.stringify(value))] },
  ];
}

function presetLines(data: HomeData): string[] {
  if (data.presets.length === 0)
    return ['No LoRA presets are configured. Give a LoRA link with `--lora https://…`.'];
  return data.presets.map((p) => {
    const where = p.channels?.length ? ` (in ${p.channels.map((c) => `<#${c}>`).join(', ')} only)` : '';
    const description = p.description ? ` — ${escapeSlackText(p.description)}` : '';
    return `• *${escapeSlackText(p.name)}*${description}${where}`;
  });
}

function header(text: string): Record<string, unknown> {
  return { type: 'header', text: { type: 'plain_text', text } };
}

function markdown(text: string): Record<string, unknown> {
  return { type: 'section', text: { type: 'mrkdwn', text } };
}
