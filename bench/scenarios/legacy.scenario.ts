import { LegacyIssuer } from '../legacy/legacy.issuer';
import { BenchContext, ScenarioResult, SummaryRow, fmt } from '../support/bench.context';
import { fileClientIds, startCoreTimed, writeCoreFiles } from '../support/bench.stack';
import { ratio, round } from '../support/latency.stats';
import { runClosedLoop } from '../support/load.runner';
import { GrantLevel, RunFigures, figures } from './grants.scenario';

export interface LegacyLevel {
  concurrency: number;
  run: RunFigures;
  issued: number;
  lost: number;
  lostShare: number;
  restarts: number;
  keyd: {
    n: number;
    perSecond: number;
    acknowledged: number;
    lost: number;
    lostShare: number;
    restarts: number;
    uptimeWentBackwards: number;
    pidUnchanged: boolean;
    restartsDetectedByKeyd: number;
  } | null;
  /** keyd's grants/s over the legacy flow's adds/s at the same concurrency. */
  speedup: number | null;
}

/**
 * The legacy flow at the same concurrency levels, against the same core
 * binary. It restarts the core once per key, so it gets fewer keys per level
 * and a wall-clock share; its figures are rates and shares, so they still
 * compare with keyd's.
 */
export async function legacyScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const { options } = ctx;
  const grants = ctx.earlier.get('grants')?.data as { levels: GrantLevel[] } | undefined;
  const levels: LegacyLevel[] = [];
  const budgetMs = (options.legacyBudgetSeconds * 1000) / options.concurrency.length;
  for (const concurrency of options.concurrency) {
    const dir = await ctx.scratch(`legacy-c${concurrency}`);
    const files = await writeCoreFiles(dir);
    const { core } = await startCoreTimed(files, files.livePath);
    try {
      const issuer = new LegacyIssuer(files.livePath, core);
      ctx.progress(`legacy c=${concurrency}: up to ${options.legacyN} issuances in ${Math.round(budgetMs / 1000)} s`);
      const run = await runClosedLoop({
        count: options.legacyN,
        concurrency,
        deadlineMs: budgetMs,
        op: (i) => issuer.issue(`legacy-c${concurrency}-${i}`),
      });
      const inFile = await fileClientIds(files.livePath);
      const lost = run.results.filter((k) => !inFile.has(k.uuid)).length;
      const keydLevel = grants?.levels.find((l) => l.concurrency === concurrency);
      const keyd = keydLevel
        ? {
            n: keydLevel.n,
            perSecond: keydLevel.keyd.perSecond,
            acknowledged: keydLevel.verification.acknowledged,
            lost: keydLevel.verification.lost,
            lostShare: round(keydLevel.verification.lost / Math.max(1, keydLevel.verification.acknowledged), 4),
            restarts: keydLevel.verification.coreRestarts,
            uptimeWentBackwards: keydLevel.verification.uptime.wentBackwards,
            pidUnchanged: keydLevel.verification.corePidUnchanged,
            restartsDetectedByKeyd: keydLevel.verification.restartsDetectedByKeyd,
          }
        : null;
      const runFigures = figures(options.legacyN, run);
      levels.push({
        concurrency,
        run: runFigures,
        issued: run.ok,
        lost,
        lostShare: round(lost / Math.max(1, run.ok), 4),
        restarts: issuer.restarts,
        keyd,
        speedup: keyd ? ratio(keyd.perSecond, runFigures.perSecond) : null,
      });
    } finally {
      await core.stop();
    }
  }

  const rows: SummaryRow[] = [];
  for (const l of levels) {
    const size = `c=${l.concurrency}`;
    const legacyN = `legacy N=${l.issued}${l.run.timedOut ? ' (time cap)' : ''}`;
    rows.push({
      figure: 'grants/s ÷ legacy adds/s',
      size,
      ratio: fmt.ratio(l.speedup),
      keyd: l.keyd ? fmt.rate(l.keyd.perSecond) : 'n/a (grants not run)',
      reference:
        `${fmt.rate(l.run.perSecond)}, ${legacyN}, p99 ${fmt.ms(l.run.latency.p99Ms)}` +
        (l.run.errors ? `, ${l.run.errors} failed` : ''),
    });
    rows.push({
      figure: 'keys lost: keyd | legacy',
      size,
      ratio: `${l.keyd ? fmt.pct(l.keyd.lostShare) : 'n/a'} | ${fmt.pct(l.lostShare)}`,
      keyd: l.keyd ? `${l.keyd.lost} of ${l.keyd.acknowledged} acknowledged` : 'n/a',
      reference: `${l.lost} of ${l.issued} issued absent from the final file`,
    });
    rows.push({
      figure: 'core restarts: keyd | legacy',
      size,
      ratio: `${l.keyd ? l.keyd.restarts : 'n/a'} | ${l.restarts}`,
      keyd: l.keyd
        ? `uptime went back ${l.keyd.uptimeWentBackwards}×, pid ${l.keyd.pidUnchanged ? 'unchanged' : 'changed'}`
        : 'n/a',
      reference: `one per issuance`,
    });
  }
  const notes = levels
    .filter((l) => l.run.timedOut || l.run.errors)
    .map(
      (l) =>
        `legacy c=${l.concurrency}: ${l.issued} of ${options.legacyN} issued` +
        `${l.run.timedOut ? ' before its time cap' : ''}, ${l.run.errors} errors` +
        `${l.run.firstError ? ` (first: ${l.run.firstError})` : ''}`,
    );
  notes.unshift(
    `the legacy flow restarts the core per key, so it ran at most ${options.legacyN} issuances per level ` +
      `(keyd: ${options.n}, ${options.nSerial} at c=1); rates and shares compare, counts do not.`,
  );
  return { name: 'legacy', rows, notes, data: { levels } };
}
