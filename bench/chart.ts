import { PNG } from 'pngjs';
import { GLYPH_HEIGHT, GLYPH_WIDTH, glyphPixels } from './font.js';

type Rgb = [number, number, number];

export interface Panel {
  title: string;
  /** The measured values (ms). */
  values: number[];
  /** Vertical lines: percentiles and targets. */
  marks: Array<{ label: string; at: number; color: Rgb }>;
}

const WIDTH = 960;
const PANEL_HEIGHT = 300;
const MARGIN = { left: 70, right: 30, top: 40, bottom: 50 };
const SCALE = 2;
const BAR: Rgb = [70, 110, 180];
const AXIS: Rgb = [40, 40, 40];
const GRID: Rgb = [225, 225, 225];

export const BLUE: Rgb = [30, 90, 200];
export const ORANGE: Rgb = [230, 120, 20];
export const RED: Rgb = [210, 30, 30];

/** Histograms of each panel's values, one above the other, with their marks, as a PNG. */
export function drawHistograms(panels: Panel[]): Buffer {
  const png = new PNG({ width: WIDTH, height: PANEL_HEIGHT * panels.length });
  png.data.fill(255);
  panels.forEach((panel, i) => {
    drawPanel(png, panel, i * PANEL_HEIGHT);
  });
  return PNG.sync.write(png);
}

function drawPanel(png: PNG, panel: Panel, top: number): void {
  const plot = {
    x0: MARGIN.left,
    x1: WIDTH - MARGIN.right,
    y0: top + MARGIN.top,
    y1: top + PANEL_HEIGHT - MARGIN.bottom,
  };
  text(png, panel.title, plot.x0, top + 12, AXIS);
  const values = panel.values.filter(Number.isFinite);
  if (values.length === 0) {
    text(png, 'NO DATA', plot.x0, plot.y0 + 40, RED);
    return;
  }
  // The x range ends at the 99.9th percentile or the furthest mark, so one outlier does not flatten the rest.
  const sorted = [...values].sort((a, b) => a - b);
  const high =
    Math.max(sorted[Math.floor((sorted.length - 1) * 0.999)]!, ...panel.marks.map((m) => m.at)) * 1.05;
  const low = Math.min(0, sorted[0]!);
  const bins = 80;
  const counts = new Array<number>(bins).fill(0);
  for (const v of values)
    counts[Math.min(bins - 1, Math.max(0, Math.floor(((v - low) / (high - low)) * bins)))]!++;
  const most = Math.max(...counts);
  const xOf = (v: number) => plot.x0 + ((v - low) / (high - low)) * (plot.x1 - plot.x0);

  for (let k = 0; k <= 4; k++) {
    const y = Math.round(plot.y1 - ((plot.y1 - plot.y0) * k) / 4);
    line(png, plot.x0, y, plot.x1, y, GRID);
    const label = String(Math.round((most * k) / 4));
    text(png, label, plot.x0 - 8 - label.length * (GLYPH_WIDTH + 1) * SCALE, y - GLYPH_HEIGHT, AXIS);
  }
  const barWidth = (plot.x1 - plot.x0) / bins;
  counts.forEach((count, b) => {
    const height = (count / most) * (plot.y1 - plot.y0);
    rect(png, plot.x0 + b * barWidth + 1, plot.y1 - height, barWidth - 1, height, BAR);
  });
  line(png, plot.x0, plot.y1, plot.x1, plot.y1, AXIS);
  line(png, plot.x0, plot.y0, plot.x0, plot.y1, AXIS);
  for (const tick of ticks(low, high)) {
    const x = Math.round(xOf(tick));
    line(png, x, plot.y1, x, plot.y1 + 5, AXIS);
    const label = formatTick(tick);
    text(png, label, x - (label.length * (GLYPH_WIDTH + 1) * SCALE) / 2, plot.y1 + 10, AXIS);
  }
  text(png, 'MS', plot.x1 - 20, plot.y1 + 30, AXIS);
  panel.marks.forEach((mark, m) => {
    const x = Math.round(xOf(mark.at));
    for (let y = plot.y0; y < plot.y1; y += 6) line(png, x, y, x, Math.min(plot.y1, y + 3), mark.color);
    const width = mark.label.length * (GLYPH_WIDTH + 1) * SCALE;
    text(png, mark.label, Math.min(x + 4, WIDTH - width - 4), plot.y0 + 4 + m * 18, mark.color);
  });
}

/** One line of a line chart: its points in order of x, drawn in its colour and named in the legend. */
export interface Series {
  label: string;
  color: Rgb;
  points: Array<{ x: number; y: number }>;
}

/** A line chart of each series over a shared x axis (e.g. memory over time), with a legend, as a PNG. */
export function drawLines(chart: { title: string; xUnit: string; yUnit: string; series: Series[] }): Buffer {
  const png = new PNG({ width: WIDTH, height: PANEL_HEIGHT + 60 });
  png.data.fill(255);
  const plot = {
    x0: MARGIN.left,
    x1: WIDTH - MARGIN.right,
    y0: MARGIN.top + 40,
    y1: png.height - MARGIN.bottom,
  };
  text(png, chart.title, plot.x0, 12, AXIS);
  chart.series.forEach((s, i) => {
    text(png, s.label, plot.x0 + i * 230, 34, s.color);
  });
  const points = chart.series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.y));
  if (points.length === 0) {
    text(png, 'NO DATA', plot.x0, plot.y0 + 40, RED);
    return PNG.sync.write(png);
  }
  const xHigh = Math.max(...points.map((p) => p.x)) || 1;
  const yHigh = Math.max(...points.map((p) => p.y)) * 1.1 || 1;
  const xOf = (x: number) => plot.x0 + (x / xHigh) * (plot.x1 - plot.x0);
  const yOf = (y: number) => plot.y1 - (y / yHigh) * (plot.y1 - plot.y0);
  for (const tick of ticks(0, yHigh)) {
    const y = Math.round(yOf(tick));
    line(png, plot.x0, y, plot.x1, y, GRID);
    const label = formatTick(tick);
    text(png, label, plot.x0 - 8 - label.length * (GLYPH_WIDTH + 1) * SCALE, y - GLYPH_HEIGHT, AXIS);
  }
  for (const tick of ticks(0, xHigh)) {
    const x = Math.round(xOf(tick));
    line(png, x, plot.y1, x, plot.y1 + 5, AXIS);
    const label = formatTick(tick);
    text(png, label, x - (label.length * (GLYPH_WIDTH + 1) * SCALE) / 2, plot.y1 + 10, AXIS);
  }
  line(png, plot.x0, plot.y1, plot.x1, plot.y1, AXIS);
  line(png, plot.x0, plot.y0, plot.x0, plot.y1, AXIS);
  text(png, chart.xUnit, plot.x1 - chart.xUnit.length * (GLYPH_WIDTH + 1) * SCALE, plot.y1 + 30, AXIS);
  text(png, chart.yUnit, 4, plot.y0 - 24, AXIS);
  for (const s of chart.series) {
    const drawn = s.points.filter((p) => Number.isFinite(p.y));
    for (let i = 1; i < drawn.length; i++) {
      const [a, b] = [drawn[i - 1]!, drawn[i]!];
      line(png, xOf(a.x), yOf(a.y), xOf(b.x), yOf(b.y), s.color);
      line(png, xOf(a.x), yOf(a.y) + 1, xOf(b.x), yOf(b.y) + 1, s.color);
    }
  }
  return PNG.sync.write(png);
}

function ticks(low: number, high: number): number[] {
  const span = high - low;
  const step =
    [0.5, 1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10_000].find(
      (s) => span / s <= 10,
    ) ?? 10_000;
  const out: number[] = [];
  for (let t = Math.ceil(low / step) * step; t <= high; t += step) out.push(t);
  return out;
}

function formatTick(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

function text(png: PNG, value: string, x: number, y: number, color: Rgb): void {
  [...value].forEach((char, i) => {
    for (const [px, py] of glyphPixels(char)) {
      rect(png, x + (i * (GLYPH_WIDTH + 1) + px) * SCALE, y + py * SCALE, SCALE, SCALE, color);
    }
  });
}

function rect(png: PNG, x: number, y: number, w: number, h: number, color: Rgb): void {
  for (let yy = Math.max(0, Math.round(y)); yy < Math.min(png.height, Math.round(y + h)); yy++) {
    for (let xx = Math.max(0, Math.round(x)); xx < Math.min(png.width, Math.round(x + w)); xx++) {
      const i = (yy * png.width + xx) * 4;
      png.data[i] = color[0];
      png.data[i + 1] = color[1];
      png.data[i + 2] = color[2];
      png.data[i + 3] = 255;
    }
  }
}

function line(png: PNG, x0: number, y0: number, x1: number, y1: number, color: Rgb): void {
  const steps = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
  for (let s = 0; s <= steps; s++) {
    rect(png, x0 + ((x1 - x0) * s) / steps, y0 + ((y1 - y0) * s) / steps, 1, 1, color);
  }
}
