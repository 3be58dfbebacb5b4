import type { TopLevelSpec } from 'vega-lite';

/**
 * The Vega-Lite spec of the spend-per-day chart. Pure data in, spec out: the same spec renders to SVG in the page
 * and, with `vega`'s `View.toSVG()`, in Node with no browser.
 */
export function spendChartSpec(
  days: ReadonlyArray<{ day: string; usd: number }>,
  colors: { bar: string; text: string; grid: string },
): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    description: 'Spend per day, last 30 days (USD)',
    width: 'container',
    height: 220,
    background: 'transparent',
    // Each bar's accessible label carries its exact amount (the axis rounds to cents).
    data: { values: days.map((d) => ({ ...d, label: `${d.day}: $${d.usd}` })) },
    mark: { type: 'bar', color: colors.bar, cornerRadiusTopLeft: 3, cornerRadiusTopRight: 3 },
    encoding: {
      x: {
        field: 'day',
        type: 'ordinal',
        title: null,
        axis: { labelAngle: 0, labelExpr: 'slice(datum.value, 5)', labelOverlap: 'greedy' },
      },
      y: { field: 'usd', type: 'quantitative', title: 'USD', axis: { format: '$.2~f' } },
      description: { field: 'label' },
      tooltip: [
        { field: 'day', title: 'Day' },
        { field: 'usd', title: 'Spend', format: '$.6~f' },
      ],
    },
    config: {
      view: { stroke: null },
      axis: {
        labelColor: colors.text,
        titleColor: colors.text,
        gridColor: colors.grid,
        domainColor: colors.grid,
        tickColor: colors.grid,
      },
    },
  };
}
