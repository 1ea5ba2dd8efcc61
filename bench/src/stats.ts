// How the benchmarks summarize a figure measured over several rounds.

import { round } from './broker-bench.js';

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** "median (min-max)" of `values`, rounded to `digits`; a single value alone. */
export function spread(values: readonly number[], digits = 1): string {
  if (values.length === 1) return String(round(values[0]!, digits));
  return `${round(median(values), digits)} (${round(Math.min(...values), digits)}-${round(Math.max(...values), digits)})`;
}
