/** The soak's figures beside their targets, its section of results.md, and its chart of memory over time. */
import type { TopLevelSpec } from 'vega-lite';
import { BLUE, GREY, linesSpec, ORANGE, RED } from './charts.js';
import { type Row, rowsMarkdown } from './rows.js';
import { FAULT_RATES, SOAK_TARGETS, type SoakResult } from './soak.js';
import { round } from './stats.js';

export const SOAK_HEADING = '## Soak';

export function soakRows(s: SoakResult): Row[] {
  const o = s.outcomes;
  const d = s.duplicates;
  const l = s.ledger;
  const accepted = s.commands - o['not-accepted'];
  const lost = o.pending;
  const dups = d.statusMessages + d.deliveries + d.notices;
  const imagesMet = round(l.imagesLedgerUsd, 6) === round(l.imagesServedUsd, 6);
  const overstated = round(l.answersLedgerUsd - l.answersServedUsd, 6);
  const answersMet = overstated >= 0 && overstated <= round(l.answersEstimatedUsd, 6);
  // Growth is what a leak shows; a falling slope is the heap settling after the warm-up.
  const slopeMet = (v: number) => Number.isFinite(v) && v < SOAK_TARGETS.rssSlopeMbPerMinute;
  const redisMet =
    Math.abs(s.redis.leftMb) <= SOAK_TARGETS.redisLeftMb && s.redis.otherKindsLeft.length === 0;
  return [
    {
      figure: `Commands accepted (${s.commandsPerSecond}/s for ${s.minutes} min)`,
      value: `${accepted} of ${s.commands} (${s.flux} /flux, ${s.ask} /ask)`,
      target: 'all',
      met: accepted === s.commands,
      ...(accepted === s.commands ? {} : { why: `${o['not-accepted']} acks were not 2xx or never came` }),
    },
    {
      figure: 'Accepted commands that ended visibly',
      value: `${o.done} done, ${o.failed} failed, ${o.refused} refused privately; ${lost} lost`,
      target: '0 lost',
      met: lost === 0,
      ...(lost === 0
        ? {}
        : {
            why: `${lost} still not ended ${s.drainSeconds} s after the last command, e.g. ${s.unfinished
              .slice(0, 5)
              .map((u) => `${u.tag} (${u.last})`)
              .join(', ')}`,
          }),
    },
    {
      figure: 'Shown twice (status messages, deliveries, notices)',
      value: `${d.statusMessages}, ${d.deliveries}, ${d.notices}`,
      target: '0',
      met: dups === 0,
      ...(dups === 0 ? {} : { why: `e.g. ${d.examples.join(', ')}` }),
    },
    {
      figure: 'Ledger for images against what the fake Together served',
      value: `$${l.imagesLedgerUsd.toFixed(6)} vs $${l.imagesServedUsd.toFixed(6)} (${l.servedImages} images)`,
      target: 'equal',
      met: imagesMet,
      ...(imagesMet ? {} : { why: ledgerWhy(l) }),
    },
    {
      figure: 'Ledger for answers against what the fake Together served',
      value: `$${l.answersLedgerUsd.toFixed(6)} vs $${l.answersServedUsd.toFixed(6)} (${l.servedAnswers} answers; ${l.answersEstimatedEntries} estimated entries, $${l.answersEstimatedUsd.toFixed(6)})`,
      target: 'equal, but for estimated entries (lost calls at their upper bound)',
      met: answersMet,
      ...(answersMet ? {} : { why: ledgerWhy(l) }),
    },
    slopeRow(
      'Gateway RSS slope',
      s.rss.gatewaySlopeMbPerMinute,
      s.rss.gatewayMb,
      slopeMet,
      s.rss.warmUpSeconds,
    ),
    slopeRow(
      'Worker RSS slope (the one never killed)',
      s.rss.workerSlopeMbPerMinute,
      s.rss.workerMb,
      slopeMet,
      s.rss.warmUpSeconds,
    ),
    {
      figure: "Redis memory left once the run's keys expire",
      value: `${s.redis.leftMb} MB (data ${s.redis.datasetBeforeMb} → ${s.redis.datasetAfterMb} MB, of which ${s.redis.keptByDesignMb} MB the ledger and bounded keys; used ${s.redis.usedBeforeMb} MB before, ${s.redis.peakMb} MB at peak, ${s.redis.usedAfterMb} MB after)`,
      target: `≤ ${SOAK_TARGETS.redisLeftMb} MB of data besides the ledger and bounded keys`,
      met: redisMet,
      ...(redisMet ? {} : { why: `kinds of key left: ${describeGrowth(s.redis.grown)}` }),
    },
  ];
}

function ledgerWhy(l: SoakResult['ledger']): string {
  const entries = Object.entries(l.ledgerEntriesByStatus)
    .map(([k, v]) => `${v} ${k}`)
    .join(', ');
  return `in all $${l.ledgerUsd.toFixed(6)} charged against $${l.servedUsd.toFixed(6)} served in ${l.togetherCalls} calls; the ledger has ${l.ledgerEntries} entries (${entries})`;
}

function slopeRow(
  figure: string,
  value: number,
  mb: { first: number | null; last: number | null },
  met: (v: number) => boolean,
  warmUpSeconds: number,
): Row {
  return {
    figure: `${figure} after ${warmUpSeconds} s`,
    value: `${value} MB/min (${mb.first} → ${mb.last} MB)`,
    target: `growth < ${SOAK_TARGETS.rssSlopeMbPerMinute} MB/min`,
    met: met(value),
  };
}

function describeGrowth(grown: SoakResult['redis']['grown']): string {
  return Object.entries(grown)
    .map(([kind, g]) => `${kind} +${g.keys} keys, ${round(g.bytes / 1024)} KiB`)
    .join('; ');
}

/** The soak's section of results.md. */
export function soakMarkdown(s: SoakResult): string {
  const table = soakRows(s);
  const f = s.faults;
  return [
    SOAK_HEADING,
    '',
    `${s.commandsPerSecond} commands/s for ${s.minutes} min${s.short ? ' (**a short run**: the target is 10 min)' : ''}: ${s.commands} signed slash commands (${s.flux} \`/flux … --size 256x256\`, ${s.ask} \`/ask\`) from ${s.people} people in ${s.channels} channels, one gateway and two workers on a private redis-server (AOF).`,
    `Faults: the fake Together answered ${f.together429} × 429, ${f.together500} × 500 and ${f.togetherSlow} slow (3–8 s) of the calls (drawn per command at ${FAULT_RATES.together429 * 100} / ${FAULT_RATES.together500 * 100} / ${FAULT_RATES.togetherSlow * 100} %), the fake Slack ${f.slack429} × 429; one worker was SIGKILLed ${f.workerKills} × (restarted in ≤ ${f.workerRestartMaxSeconds} s) and Redis restarted ${f.redisRestarts} × (down ${f.redisDownSeconds} s).`,
    `Refused privately: ${
      Object.entries(s.refusedReasons)
        .map(([text, n]) => `${n} × "${text}"`)
        .join('; ') || 'none'
    }.`,
    `Drained ${s.drainSeconds} s after the last command; ${s.totalSeconds} s in all. RSS slopes are least squares over the send phase after ${s.rss.warmUpSeconds} s of warm-up (${s.rss.samples} samples). Redis "after" is measured once every finished job was cleaned (as \`keep_completed_hours\` does) and every key of the run with a TTL deleted (as its expiry will), with the processes still running.`,
    '',
    ...rowsMarkdown(table),
    '',
    '![memory over the soak](soak.svg)',
    '',
  ].join('\n');
}

/** RSS of the gateway and both workers and Redis's used memory over the soak, as a chart spec. */
export function soakChart(s: SoakResult): TopLevelSpec {
  const series = (label: string, color: string, pick: (x: SoakResult['samples'][number]) => number) => ({
    label,
    color,
    points: s.samples.map((x) => ({ x: x.seconds / 60, y: pick(x) })),
  });
  return linesSpec({
    title: `Memory over the soak (${s.commandsPerSecond} commands/s, ${s.minutes} min)`,
    xTitle: 'minutes',
    yTitle: 'MB',
    series: [
      series('gateway RSS', BLUE, (x) => x.gatewayMb),
      series('worker RSS', ORANGE, (x) => x.workerMb),
      series('killed worker RSS', GREY, (x) => x.victimMb),
      series('Redis used', RED, (x) => x.redisMb),
    ],
  });
}
