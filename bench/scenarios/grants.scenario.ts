import { BenchContext, ScenarioResult, SummaryRow, fmt } from '../support/bench.context';
import { GrantStack, KeydVerification } from '../support/grant.stack';
import { LatencySummary, ratio, round, summarize } from '../support/latency.stats';

export const TARGET_RATIO = 0.5;
export const TARGET_P99_MS = 100;

export interface RunFigures {
  requested: number;
  ok: number;
  errors: number;
  firstError: string | null;
  timedOut: boolean;
  seconds: number;
  perSecond: number;
  latency: LatencySummary;
}

export interface GrantLevel {
  concurrency: number;
  n: number;
  raw: RunFigures;
  keyd: RunFigures & { provisioned: number; provisionedShare: number };
  ratio: number | null;
  verification: KeydVerification;
}

export function figures<T>(
  requested: number,
  run: {
    ok: number;
    errors: number;
    firstError: string | null;
    timedOut: boolean;
    seconds: number;
    latenciesMs: number[];
    results: T[];
  },
): RunFigures {
  return {
    requested,
    ok: run.ok,
    errors: run.errors,
    firstError: run.firstError,
    timedOut: run.timedOut,
    seconds: round(run.seconds, 3),
    perSecond: round(run.ok / run.seconds, 1),
    latency: summarize(run.latenciesMs),
  };
}

/**
 * Grants for distinct owners through keyd's gRPC API, against raw AlterInbound
 * adds on the same core at the same concurrency: the ceiling keyd can at best
 * reach, since every grant makes that same call. Each level gets a fresh core
 * and database; the raw adds run first, then the grants.
 */
export async function grantsScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const { options } = ctx;
  const levels: GrantLevel[] = [];
  for (const concurrency of options.concurrency) {
    const n = concurrency === 1 ? options.nSerial : options.n;
    const dir = await ctx.scratch(`grants-c${concurrency}`);
    const stack = await GrantStack.start(dir);
    try {
      stack.watchCore();
      ctx.progress(`grants c=${concurrency}: ${n} raw AlterInbound adds`);
      const raw = await stack.rawAdds(n, concurrency, `raw-c${concurrency}`);
      ctx.progress(`grants c=${concurrency}: ${n} grants through keyd`);
      const keyd = await stack.grants(n, concurrency, `owner-c${concurrency}`);
      ctx.progress(`grants c=${concurrency}: verifying every acknowledged key`);
      const verification = await stack.verify(keyd.results);
      const provisioned = keyd.results.filter((k) => k.provisioned).length;
      const rawFigures = figures(n, raw);
      const keydFigures = figures(n, keyd);
      levels.push({
        concurrency,
        n,
        raw: rawFigures,
        keyd: { ...keydFigures, provisioned, provisionedShare: round(provisioned / Math.max(1, keyd.ok), 4) },
        ratio: ratio(keydFigures.perSecond, rawFigures.perSecond),
        verification,
      });
    } finally {
      await stack.stop();
    }
  }

  const rows: SummaryRow[] = levels.map((l) => ({
    figure: 'grants/s ÷ raw adds/s',
    size: `c=${l.concurrency} N=${fmt.size(l.n)}`,
    ratio: fmt.ratio(l.ratio),
    keyd:
      `${fmt.rate(l.keyd.perSecond)}, p50/p95/p99 ${l.keyd.latency.p50Ms}/${l.keyd.latency.p95Ms}/` +
      `${l.keyd.latency.p99Ms} ms, provisioned ${fmt.pct(l.keyd.provisionedShare)}`,
    reference: `raw ${fmt.rate(l.raw.perSecond)}, p99 ${l.raw.latency.p99Ms} ms`,
  }));

  const notes: string[] = [];
  const serial = levels.find((l) => l.concurrency === 1);
  if (serial && serial.n !== options.n) {
    notes.push(`concurrency 1 ran ${serial.n} grants instead of ${options.n}, to fit the time budget (--n-serial).`);
  }
  const top = levels[levels.length - 1];
  if (top) {
    const r = top.ratio ?? 0;
    const p99 = top.keyd.latency.p99Ms;
    notes.push(
      `target at c=${top.concurrency}: ratio ≥ ${TARGET_RATIO} and p99 < ${TARGET_P99_MS} ms; measured ` +
        `${fmt.ratio(top.ratio)} (${r >= TARGET_RATIO ? 'met' : `missed, ${fmt.pct(1 - r / TARGET_RATIO)} short`}) ` +
        `and p99 ${p99} ms (${p99 < TARGET_P99_MS ? 'met' : `missed, ${fmt.ratio(p99 / TARGET_P99_MS)}× the target`}).`,
    );
  }
  for (const l of levels) {
    if (l.keyd.errors || l.raw.errors || l.keyd.timedOut || l.raw.timedOut) {
      notes.push(
        `c=${l.concurrency}: ${l.keyd.errors} keyd errors${l.keyd.timedOut ? ' (cut by the deadline)' : ''}, ` +
          `${l.raw.errors} raw errors; first: ${l.keyd.firstError ?? l.raw.firstError ?? 'none'}`,
      );
    }
  }
  return { name: 'grants', rows, notes, data: { levels } };
}
