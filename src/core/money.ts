/**
 * Money is counted in whole micro-dollars (1 USD = 1,000,000 micros) so that sums never drift.
 * Prices in the config are decimal USD and are converted once, exactly, at start-up.
 */
export type Micros = number;

export const MICROS_PER_USD = 1_000_000;

/** Converts a decimal USD amount with at most 6 decimals to micros, or returns undefined if it has more. */
export function usdToMicros(usd: number): Micros | undefined {
  if (!Number.isFinite(usd) || usd < 0) return undefined;
  const scaled = usd * MICROS_PER_USD;
  const rounded = Math.round(scaled);
  if (Math.abs(scaled - rounded) > 1e-6 * Math.max(1, Math.abs(scaled)) || !Number.isSafeInteger(rounded)) {
    return undefined;
  }
  return rounded;
}

/** `numerator / denominator` rounded up, exactly, for non-negative integers. */
export function ceilDiv(numerator: bigint, denominator: bigint): bigint {
  return (numerator + denominator - 1n) / denominator;
}

/** Narrows a bigint amount back to a safe JS number, or throws: no amount lorabot prices can get near 2^53. */
export function toMicros(amount: bigint): Micros {
  const value = Number(amount);
  if (!Number.isSafeInteger(value)) throw new RangeError(`amount ${amount} µ$ is out of range`);
  return value;
}

/**
 * Formats micros as USD with at least 2 and at most 6 decimals, trailing zeros past the second removed, never in
 * scientific notation: 35000 → `0.035`, 140000 → `0.14`, 54 → `0.000054`, 0 → `0.00`.
 */
export function formatUsd(micros: Micros): string {
  const sign = micros < 0 ? '-' : '';
  const abs = Math.abs(Math.trunc(micros));
  const whole = Math.floor(abs / MICROS_PER_USD);
  let fraction = String(abs % MICROS_PER_USD).padStart(6, '0');
  while (fraction.length > 2 && fraction.endsWith('0')) fraction = fraction.slice(0, -1);
  return `${sign}${whole}.${fraction}`;
}

/** Converts micros to a JS number of dollars for JSON output (exact to 6 decimals as printed). */
export function microsToUsd(micros: Micros): number {
  return Number(formatUsd(micros));
}
