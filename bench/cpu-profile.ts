/**
 * Where a process's CPU went, from the V8 CPU profile `node --cpu-prof` writes when it exits: self time by function
 * and by package, over a window of the run (the bench's measured phase, not start-up or warm-up).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { round } from './stats.js';

/** The parts of a `.cpuprofile` (Chrome DevTools' format) this reads. */
interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
  }>;
  /** Microseconds, on the clock `process.hrtime` reads. */
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  where: string;
  ms: number;
  percent: number;
}

export interface ProfileSummary {
  /** Milliseconds of samples in the window, idle excluded. */
  busyMs: number;
  /** Milliseconds the process sat idle in the window. */
  idleMs: number;
  /** Whether the window held samples; if not, the summary covers the whole profile. */
  windowed: boolean;
  top: SelfTime[];
  byPackage: Array<{ name: string; ms: number; percent: number }>;
}

/** `process.hrtime` now, in microseconds: the clock a profile's sample times are on. */
export function profileClockUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** The one `.cpuprofile` in `dir`. */
export function readProfile(dir: string): CpuProfile {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length !== 1) throw new Error(`expected one CPU profile in ${dir}, found ${files.length}`);
  return JSON.parse(readFileSync(join(dir, files[0]!), 'utf8')) as CpuProfile;
}

/** Self time by function (the `top` most) and by package, over samples taken between `fromUs` and `toUs`. */
export function summarizeProfile(
  profile: CpuProfile,
  window: { fromUs: number; toUs: number },
  top = 15,
): ProfileSummary {
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const inWindow = samplesIn(profile, window);
  const windowed = inWindow.length > 0;
  const samples = windowed ? inWindow : samplesIn(profile, { fromUs: 0, toUs: Number.POSITIVE_INFINITY });
  const byFunction = new Map<string, SelfTime>();
  const byPackage = new Map<string, number>();
  let busyUs = 0;
  let idleUs = 0;
  for (const { node, us } of samples) {
    const frame = frames.get(node);
    if (!frame) continue;
    if (frame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    busyUs += us;
    const where = location(frame.url, frame.lineNumber);
    const key = `${frame.functionName}@${where}`;
    const entry = byFunction.get(key) ?? {
      name: frame.functionName || '(anonymous)',
      where,
      ms: 0,
      percent: 0,
    };
    entry.ms += us / 1000;
    byFunction.set(key, entry);
    const pkg = packageOf(frame.functionName, frame.url);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
  }
  const share = (us: number) => round((us / (busyUs || 1)) * 100);
  return {
    busyMs: round(busyUs / 1000),
    idleMs: round(idleUs / 1000),
    windowed,
    top: [...byFunction.values()]
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top)
      .map((f) => ({ ...f, ms: round(f.ms), percent: share(f.ms * 1000) })),
    byPackage: [...byPackage.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([name, us]) => ({ name, ms: round(us / 1000), percent: share(us) })),
  };
}

/** Each sample in the window with the time it stands for (the gap to the next sample). */
function samplesIn(profile: CpuProfile, window: { fromUs: number; toUs: number }) {
  const out: Array<{ node: number; us: number }> = [];
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    const us = profile.timeDeltas[i + 1] ?? 0;
    if (at >= window.fromUs && at <= window.toUs) out.push({ node: profile.samples[i]!, us });
  }
  return out;
}

/** `bullmq/dist/esm/classes/worker.js:812`, `src/queue/image-job.js:40`, `node:internal/…`: short and findable. */
function location(url: string, line: number): string {
  if (!url) return '';
  const path = url.replace(/^file:\/\//, '');
  const modules = path.lastIndexOf('/node_modules/');
  const short =
    modules >= 0
      ? path.slice(modules + '/node_modules/'.length)
      : path.includes('/dist/')
        ? path.slice(path.lastIndexOf('/dist/') + 1)
        : path;
  return `${short}:${line + 1}`;
}

/**
 * The package a frame belongs to: a dependency, lorabot itself, Node's own JavaScript, native code (V8 builtins and
 * Node's C++ bindings, such as writing a string to a socket), or V8 itself (GC, `(program)`).
 */
function packageOf(functionName: string, url: string): string {
  if (!url) return functionName.startsWith('(') ? `V8 ${functionName}` : 'native (V8 and Node.js C++)';
  if (url.startsWith('node:')) return 'Node.js';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules < 0) return 'lorabot';
  const rest = url.slice(modules + '/node_modules/'.length).split('/');
  return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
}

/** The summary as Markdown: where the time went by package, then the top functions by self time. */
export function profileMarkdown(title: string, s: ProfileSummary): string[] {
  return [
    `${title}: ${s.busyMs} ms of CPU sampled${s.windowed ? ' in the measured window' : ' (whole run: the window held no samples)'}, ${s.idleMs} ms idle.`,
    '',
    `By package: ${s.byPackage
      .slice(0, 10)
      .map((p) => `${p.name} ${p.percent} %`)
      .join(', ')}.`,
    '',
    '| Function (self time) | Where | ms | % |',
    '|---|---|---|---|',
    ...s.top.map((f) => `| \`${f.name}\` | ${f.where || '(native)'} | ${f.ms} | ${f.percent} |`),
  ];
}
