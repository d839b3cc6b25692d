export interface LatencySummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Nearest-rank percentile: always a latency that was actually observed. */
function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number;
}

export function summarize(latenciesMs: number[]): LatencySummary {
  const sorted = latenciesMs.slice().sort((a, b) => a - b);
  const total = sorted.reduce((sum, v) => sum + v, 0);
  return {
    count: sorted.length,
    meanMs: round(sorted.length ? total / sorted.length : 0),
    p50Ms: round(percentile(sorted, 50)),
    p95Ms: round(percentile(sorted, 95)),
    p99Ms: round(percentile(sorted, 99)),
    maxMs: round(sorted[sorted.length - 1] ?? 0),
  };
}

export function median(values: number[]): number {
  return percentile(
    values.slice().sort((a, b) => a - b),
    50,
  );
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** A ratio that stays readable when the denominator is zero. */
export function ratio(numerator: number, denominator: number): number | null {
  return denominator > 0 ? round(numerator / denominator, 3) : null;
}

export function elapsedMs(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e6;
}

/**
 * The exponent k in cost ∝ size^k between two sizes: about 0 is flat, about 1
 * is linear. Null when either cost or size is not positive.
 */
export function growthExponent(sizeA: number, costA: number, sizeB: number, costB: number): number | null {
  if (sizeA <= 0 || sizeB <= 0 || costA <= 0 || costB <= 0 || sizeA === sizeB) return null;
  return round(Math.log(costB / costA) / Math.log(sizeB / sizeA), 2);
}
