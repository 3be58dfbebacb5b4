/**
 * What a job costs, beside the targets of issue 18: Redis commands sent a job (MONITOR, a script counting once),
 * the worker's CPU a job, and the pipeline overhead p99 at 100 commands/s. Figures from the MONITOR breakdown, the
 * steady phase (the worker as it runs in production) and the full-speed phase (the worker under `--cpu-prof`).
 */
import { type ProfileSummary, profileMarkdown } from './cpu-profile.js';
import { breakdownMarkdown, type RedisBreakdown } from './redis-breakdown.js';
import { type Row, rowsMarkdown } from './rows.js';
import { round } from './stats.js';

export const COST_HEADING = "## Where a job's Redis commands and CPU go";

export const COST_TARGETS = { commandsSentPerJob: 45, workerCpuMsPerJob: 2.3, overheadP99Ms: 100 };

/** What the cost figures are computed from: each phase's jobs and the workers' CPU milliseconds over it. */
export interface CostInputs {
  redisBreakdown: RedisBreakdown;
  workerProfile: ProfileSummary;
  steady: {
    finished: number;
    commandsPerSecondOffered: number;
    overheadMs: { p99: number };
    cpuPercentOfOneCore: { workerMs: number | null };
  };
  saturation: { finished: number; jobsPerSecond: number; cpuPercentOfOneCore: { workerMs: number | null } };
}

/** The worker's CPU milliseconds a job over a phase, or null where /proc is missing. */
function msPerJob(workerMs: number | null, jobs: number): number | null {
  return workerMs === null || jobs === 0 ? null : round(workerMs / jobs, 2);
}

export function costRows(r: CostInputs): Row[] {
  const b = r.redisBreakdown;
  const steadyMs = msPerJob(r.steady.cpuPercentOfOneCore.workerMs, r.steady.finished);
  const fullMs = msPerJob(r.saturation.cpuPercentOfOneCore.workerMs, r.saturation.finished);
  const sentMet = b.sentPerJob <= COST_TARGETS.commandsSentPerJob;
  const cpuMet = steadyMs === null ? null : steadyMs <= COST_TARGETS.workerCpuMsPerJob;
  const p99 = r.steady.overheadMs.p99;
  const p99Met = p99 <= COST_TARGETS.overheadP99Ms;
  return [
    {
      figure: 'Redis commands sent a job (a script counts once)',
      value: `${b.sentPerJob} (and ${b.inScriptsPerJob} run inside scripts)`,
      target: `≤ ${COST_TARGETS.commandsSentPerJob}`,
      met: sentMet,
      ...(sentMet
        ? {}
        : { why: `${round(b.sentPerJob - COST_TARGETS.commandsSentPerJob, 2)} over; see the calls below` }),
    },
    {
      figure: `Worker CPU a job at ${r.steady.commandsPerSecondOffered} commands/s (and at full speed, under \`--cpu-prof\`)`,
      value: `${steadyMs ?? '?'} ms (${fullMs ?? '?'} ms at ${r.saturation.jobsPerSecond} jobs/s)`,
      target: `≤ ${COST_TARGETS.workerCpuMsPerJob} ms`,
      met: cpuMet,
      ...(cpuMet === false
        ? {
            why: `${round(steadyMs! - COST_TARGETS.workerCpuMsPerJob, 2)} ms over; the profile below says where it goes`,
          }
        : {}),
    },
    {
      figure: `Pipeline overhead p99 at ${r.steady.commandsPerSecondOffered} commands/s`,
      value: `${p99} ms`,
      target: `≤ ${COST_TARGETS.overheadP99Ms} ms`,
      met: p99Met,
      ...(p99Met ? {} : { why: `${round(p99 - COST_TARGETS.overheadP99Ms)} ms over` }),
    },
  ];
}

/** The targets, the MONITOR breakdown and the worker's CPU profile: what the next reduction of a job's cost can aim at. */
export function costMarkdown(r: CostInputs): string {
  return [
    COST_HEADING,
    '',
    ...rowsMarkdown(costRows(r)),
    '',
    ...breakdownMarkdown(r.redisBreakdown),
    '',
    ...profileMarkdown('The worker in the full-speed phase (`node --cpu-prof`)', r.workerProfile),
    '',
  ].join('\n');
}
