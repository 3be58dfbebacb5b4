import { parse, View } from 'vega';
import { expressionInterpreter } from 'vega-interpreter';
import { compile } from 'vega-lite';
import type { DashboardData, RankedSpend } from '../../src/adapters/web/web-protocol.js';
import { formatUsd } from '../../src/core/money.js';
import { header, loadSession } from './api.js';
import { fill, h } from './dom.js';
import { spendChartSpec } from './spend-chart.js';

/** Amounts as every cost line prints them (2 to 6 decimals, exact), by the same function. */
const money = (usd: number) => `$${formatUsd(Math.round(usd * 1_000_000))}`;
const css = (name: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

const session = await loadSession();
header(session, 'dashboard');
const data = (await (await fetch('/api/dashboard', { credentials: 'same-origin' })).json()) as DashboardData;

function ranking(selector: string, rows: readonly RankedSpend[]): void {
  fill(
    document.querySelector(selector)!,
    ...(rows.length === 0
      ? [h('li', { class: 'empty' }, 'No spend in the last 30 days.')]
      : rows.map((row) =>
          h(
            'li',
            {},
            h('span', { class: 'name' }, row.name),
            h('span', { class: 'usd' }, money(row.usd)),
            h('span', { class: 'jobs' }, `${row.jobs} ${row.jobs === 1 ? 'job' : 'jobs'}`),
          ),
        )),
  );
}

async function chart(): Promise<void> {
  const element = document.querySelector<HTMLElement>('#spend-chart')!;
  element.dataset.total = String(data.totalUsd);
  const spec = spendChartSpec(data.spendPerDay, {
    bar: css('--accent'),
    text: css('--muted'),
    grid: css('--line'),
  });
  // The expression interpreter instead of Vega's code generation: the page's CSP allows no eval.
  const runtime = parse(compile(spec).spec, undefined, { ast: true });
  const view = new View(runtime, {
    expr: expressionInterpreter,
    renderer: 'svg',
    container: element,
    hover: true,
  });
  await view.runAsync();
  element.dataset.rendered = 'true';
}

document.querySelector('#total')!.textContent = money(data.totalUsd);
fill(
  document.querySelector('#queue')!,
  ...(['waiting', 'running', 'failed'] as const).map((key) =>
    h(
      'div',
      { class: `stat ${key}`, 'data-queue': key },
      h('strong', {}, String(data.queue[key])),
      h('span', {}, key),
    ),
  ),
);
ranking('#top-people', data.top.people);
ranking('#top-channels', data.top.channels);
ranking('#top-models', data.top.models);
fill(
  document.querySelector('#budgets')!,
  ...(data.budgets.length === 0
    ? [h('p', { class: 'empty' }, 'No budgets are configured (budgets: in the config file).')]
    : data.budgets.map((b) => {
        const share = b.limitUsd > 0 ? Math.min(1, b.usedUsd / b.limitUsd) : 1;
        const meter = h('meter', { min: '0', max: '1', value: String(share), high: '0.8', optimum: '0' });
        return h(
          'div',
          { class: 'budget' },
          h('div', {}, h('strong', {}, b.scope), ' ', h('span', { class: 'muted' }, b.name)),
          meter,
          h('span', { class: 'usd' }, `${money(b.usedUsd)} of ${money(b.limitUsd)}`),
        );
      })),
);
fill(
  document.querySelector('#jobs tbody')!,
  ...(data.recentJobs.length === 0
    ? [h('tr', {}, h('td', { colspan: '6', class: 'empty' }, 'No jobs yet. Try one in the playground.'))]
    : data.recentJobs.map((job) =>
        h(
          'tr',
          { 'data-job': job.jobId },
          h(
            'td',
            {},
            job.thumbnail
              ? h('img', { src: job.thumbnail, alt: '', class: 'thumb', loading: 'lazy' })
              : h('span', { class: `kind ${job.kind}` }, job.kind === 'flux' ? '▣' : '✎'),
          ),
          h('td', {}, h('code', {}, job.command)),
          h('td', {}, job.user),
          h(
            'td',
            {},
            h('span', { class: `badge ${job.state}` }, job.state),
            ...(job.feedback
              ? [
                  ' ',
                  h(
                    'span',
                    { class: 'feedback muted', title: 'Feedback on the answer' },
                    `👍 ${job.feedback.up} · 👎 ${job.feedback.down}`,
                  ),
                ]
              : []),
          ),
          h('td', { class: 'usd' }, job.usd === null ? '–' : money(job.usd)),
          h('td', { class: 'muted' }, new Date(job.at).toLocaleString()),
        ),
      )),
);
await chart();
document.body.dataset.ready = 'true';
