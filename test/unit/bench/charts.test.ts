import { describe, expect, it } from 'vitest';
import {
  BLUE,
  histogramsSpec,
  linesSpec,
  ORANGE,
  RED,
  renderSvg,
  roundTicks,
  scaleSpec,
} from '../../../bench/charts.js';

/** The text of every `<text>` element inside the mark groups whose class contains `mark`, in order. */
function texts(svg: string, markClass: string): string[] {
  return groups(svg, markClass).flatMap((g) =>
    [...g.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!),
  );
}

/** The inner SVG of each `<g class="…">` whose class contains `markClass`, up to its own closing tag. */
function groups(svg: string, markClass: string): string[] {
  return [...svg.matchAll(/<g class="([^"]*)"[^>]*>/g)]
    .filter((m) => m[1]!.includes(markClass))
    .map((m) => {
      const start = m.index + m[0].length;
      let depth = 1;
      const tags = /<g[ >]|<\/g>/g;
      tags.lastIndex = start;
      for (let tag = tags.exec(svg); tag; tag = tags.exec(svg)) {
        depth += tag[0] === '</g>' ? -1 : 1;
        if (depth === 0) return svg.slice(start, tag.index);
      }
      throw new Error(`unclosed group ${m[1]}`);
    });
}

function count(inner: string, element: string): number {
  return inner.match(new RegExp(`<${element}[ >]`, 'g'))?.length ?? 0;
}

describe('the bench charts', () => {
  it('draws the histograms: one bar per filled bin, a rule and a label per mark, the outliers counted', async () => {
    // 0.5–9.5 ms 200 times each and one outlier past the 99.9th percentile: 10 filled bins on a 0–10.5 ms axis.
    const values = [...Array.from({ length: 2000 }, (_, i) => (i % 10) + 0.5), 5000];
    const svg = await renderSvg(
      histogramsSpec([
        {
          title: 'Ack latency',
          values,
          marks: [
            { label: 'p50 5 ms', at: 5, color: BLUE },
            { label: 'p99 9 ms', at: 9, color: ORANGE },
            { label: 'target p99 10 ms', at: 10, color: RED },
          ],
        },
        { title: 'Pipeline overhead', values: [1, 2, 3], marks: [{ label: 'p50 2 ms', at: 2, color: BLUE }] },
      ]),
    );
    expect(svg.startsWith('<svg')).toBe(true);
    expect(texts(svg, 'role-title-text')).toEqual([
      // The outlier is left out of the axis and said so.
      'Ack latency (1 above 11 ms not shown)',
      'Pipeline overhead',
    ]);
    const [firstBars, secondBars] = groups(svg, 'layer_0_marks').filter((g) => g.includes('<path'));
    expect(count(firstBars!, 'path')).toBe(10);
    expect(count(secondBars!, 'path')).toBe(3);
    expect(groups(svg, 'mark-rule role-mark').map((g) => count(g, 'line'))).toEqual([3, 1]);
    expect(texts(svg, 'mark-text role-mark')).toEqual([
      'p50 5 ms',
      'p99 9 ms',
      'target p99 10 ms',
      'p50 2 ms',
    ]);
    expect(svg).toContain(`stroke="${RED}"`);
    expect(texts(svg, 'role-axis-title')).toEqual(['ms', 'commands', 'ms', 'commands']);
  });

  it('draws a line per series with its legend, leaving out points that were not measured', async () => {
    const svg = await renderSvg(
      linesSpec({
        title: 'Memory over the soak',
        xTitle: 'minutes',
        yTitle: 'MB',
        series: [
          { label: 'gateway RSS', color: BLUE, points: [0, 1, 2].map((x) => ({ x, y: 100 + x })) },
          {
            label: 'Redis used',
            color: RED,
            points: [
              { x: 0, y: 10 },
              { x: 1, y: Number.NaN },
            ],
          },
        ],
      }),
    );
    expect(texts(svg, 'role-title-text')).toEqual(['Memory over the soak']);
    expect(texts(svg, 'role-legend-label')).toEqual(['gateway RSS', 'Redis used']);
    expect(texts(svg, 'role-axis-title')).toEqual(['minutes', 'MB']);
    const lines = groups(svg, 'mark-line role-mark');
    expect(lines).toHaveLength(2);
    expect(lines.join('')).toContain(`stroke="${BLUE}"`);
    expect(lines.join('')).toContain(`stroke="${RED}"`);
  });

  it('draws jobs/s against workers: a line and labelled points per Redis, ticks only at the measured counts', async () => {
    const svg = await renderSvg(
      scaleSpec(
        'Jobs/s against worker processes',
        [
          { redis: 'one Redis', workers: 1, jobsPerSecond: 200.4 },
          { redis: 'one Redis', workers: 2, jobsPerSecond: 260 },
          { redis: 'one Redis', workers: 4, jobsPerSecond: 251 },
          { redis: 'Redis Cluster', workers: 1, jobsPerSecond: 180 },
          { redis: 'Redis Cluster', workers: 2, jobsPerSecond: 230 },
          { redis: 'Redis Cluster', workers: 4, jobsPerSecond: 221 },
        ],
        { 'one Redis': BLUE, 'Redis Cluster': ORANGE },
      ),
    );
    expect(texts(svg, 'role-title-text')).toEqual(['Jobs/s against worker processes']);
    expect(texts(svg, 'role-legend-label')).toEqual(['one Redis', 'Redis Cluster']);
    expect(groups(svg, 'mark-line role-mark')).toHaveLength(2);
    expect(count(groups(svg, 'mark-symbol role-mark')[0]!, 'path')).toBe(6);
    expect(texts(svg, 'mark-text role-mark')).toEqual(['200', '260', '251', '180', '230', '221']);
    expect(texts(svg, 'role-axis-label').slice(0, 3)).toEqual(['1', '2', '4']);
  });

  it('puts about ten round ticks on an axis', () => {
    expect(roundTicks(0, 105)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(roundTicks(0, 48)).toEqual([0, 5, 10, 15, 20, 25, 30, 35, 40, 45]);
    expect(roundTicks(-3, 3)).toEqual([-3, -2, -1, 0, 1, 2, 3]);
  });
});
