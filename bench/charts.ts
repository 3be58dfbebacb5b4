/**
 * The bench's charts as Vega-Lite specs (the library the web dashboard draws its spend chart with), rendered to SVG
 * in Node by Vega's headless `View.toSVG()`: no browser, no canvas. Each spec is a pure function of its figures,
 * so the unit tests render them from fixed data.
 */
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { percentile } from './stats.js';

export const BLUE = '#1e5ac8';
export const ORANGE = '#e67814';
export const RED = '#d21e1e';
export const GREY = '#969696';
const BAR = '#466eb4';
const WIDTH = 880;

/** A vertical rule across a histogram: a percentile or a target, labelled at its top. */
export interface Mark {
  label: string;
  at: number;
  color: string;
}

/** One histogram: the measured values (ms) and its rules. */
export interface Panel {
  title: string;
  values: readonly number[];
  marks: readonly Mark[];
}

/** Renders a Vega-Lite spec to an SVG document. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * Histograms of each panel's values, one above the other, each with its rules. The x range ends at the 99.9th
 * percentile or the furthest rule, so one outlier does not flatten the rest; the title counts what it leaves out.
 */
export function histogramsSpec(panels: readonly Panel[]): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    background: 'white',
    vconcat: panels.map((panel) => {
      const values = panel.values.filter(Number.isFinite);
      const sorted = [...values].sort((a, b) => a - b);
      const high = Math.max(percentile(sorted, 99.9) || 1, ...panel.marks.map((m) => m.at)) * 1.05;
      const low = Math.min(0, sorted[0] ?? 0);
      const shown = values.filter((v) => v <= high);
      const beyond = values.length - shown.length;
      const x = {
        scale: { domain: [low, high], nice: false },
        title: 'ms',
        // A binned axis would label every bin; ten round ticks read better.
        axis: { values: roundTicks(low, high) },
      };
      return {
        title: beyond > 0 ? `${panel.title} (${beyond} above ${Math.round(high)} ms not shown)` : panel.title,
        width: WIDTH,
        height: 220,
        layer: [
          {
            data: { values: shown.map((ms) => ({ ms })) },
            mark: { type: 'bar', color: BAR },
            encoding: {
              x: { field: 'ms', type: 'quantitative', bin: { maxbins: 80, extent: [low, high] }, ...x },
              x2: { field: 'bin_ms_end' },
              y: { aggregate: 'count', type: 'quantitative', title: 'commands' },
            },
          },
          {
            data: { values: panel.marks.map((m, row) => ({ ...m, row })) },
            layer: [
              {
                mark: { type: 'rule', strokeDash: [4, 3], strokeWidth: 1.5 },
                encoding: {
                  x: { field: 'at', type: 'quantitative', ...x },
                  color: { field: 'color', type: 'nominal', scale: null },
                },
              },
              {
                mark: { type: 'text', align: 'left', dx: 4, fontSize: 11, fontWeight: 'bold' },
                encoding: {
                  x: { field: 'at', type: 'quantitative', ...x },
                  // Labels stack down from the top, one row each, so rules close together stay readable.
                  y: {
                    field: 'row',
                    type: 'quantitative',
                    scale: { domain: [-0.8, 12], reverse: true },
                    axis: null,
                  },
                  text: { field: 'label' },
                  color: { field: 'color', type: 'nominal', scale: null },
                },
              },
            ],
          },
        ],
        resolve: { scale: { y: 'independent' } },
      };
    }),
  } as TopLevelSpec;
}

/** One line of a line chart, named in the legend. */
export interface Series {
  label: string;
  color: string;
  points: ReadonlyArray<{ x: number; y: number }>;
}

/** A line chart of each series over a shared x axis (e.g. memory over time), with a legend. */
export function linesSpec(chart: {
  title: string;
  xTitle: string;
  yTitle: string;
  series: readonly Series[];
}): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    background: 'white',
    title: chart.title,
    width: WIDTH,
    height: 280,
    data: {
      values: chart.series.flatMap((s) =>
        s.points.filter((p) => Number.isFinite(p.y)).map((p) => ({ series: s.label, x: p.x, y: p.y })),
      ),
    },
    mark: { type: 'line', strokeWidth: 2 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: chart.xTitle },
      y: { field: 'y', type: 'quantitative', title: chart.yTitle },
      color: {
        field: 'series',
        type: 'nominal',
        title: null,
        scale: { domain: chart.series.map((s) => s.label), range: chart.series.map((s) => s.color) },
        legend: { orient: 'top', labelLimit: 0 },
      },
    },
  };
}

/** One measured point of the scale phase: jobs/s with this many worker processes on this Redis. */
export interface ScalePoint {
  redis: string;
  workers: number;
  jobsPerSecond: number;
}

/** Jobs/s against the number of worker processes, one line per Redis (one server, a cluster), each point labelled. */
export function scaleSpec(
  title: string,
  points: readonly ScalePoint[],
  colors: Record<string, string>,
): TopLevelSpec {
  const workers = [...new Set(points.map((p) => p.workers))].sort((a, b) => a - b);
  const color = {
    field: 'redis',
    type: 'nominal' as const,
    title: null,
    scale: { domain: Object.keys(colors), range: Object.values(colors) },
    legend: { orient: 'top' as const, labelLimit: 0 },
  };
  const x = {
    field: 'workers',
    type: 'quantitative' as const,
    title: 'worker processes',
    scale: { domain: [0, Math.max(...workers, 1) + 0.5], nice: false },
    axis: { values: workers, format: 'd' },
  };
  const y = { field: 'jobsPerSecond', type: 'quantitative' as const, title: 'jobs/s', scale: { zero: true } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    background: 'white',
    title,
    width: 520,
    height: 300,
    data: { values: points.map((p) => ({ ...p })) },
    layer: [
      { mark: { type: 'line', point: true, strokeWidth: 2 }, encoding: { x, y, color } },
      {
        mark: { type: 'text', dy: -10, fontSize: 11 },
        encoding: { x, y, color, text: { field: 'jobsPerSecond', type: 'quantitative', format: '.0f' } },
      },
    ],
  };
}

/** About ten round values from low to high (steps of 1, 2 or 5 × 10^k). */
export function roundTicks(low: number, high: number): number[] {
  const raw = (high - low) / 10 || 1;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let t = Math.ceil(low / step) * step; t <= high; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}
