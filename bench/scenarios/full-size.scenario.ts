import * as path from 'path';
import { loadConfig } from '@keyd/config';
import { BenchContext, ScenarioResult, SummaryRow, fmt } from '../support/bench.context';
import { startKeyd, stopKeyd } from '../support/bench.stack';
import { GrantStack } from '../support/grant.stack';
import { runClosedLoop } from '../support/load.runner';
import { KeydProcess } from '../../test/support/keyd.harness';
import { ProcessSampler } from '../support/process.sampler';
import { ratio, round } from '../support/latency.stats';
import { RunFigures, figures } from './grants.scenario';

/** The writer, the poller and the passes all run during the measured grants, as on a busy node. */
export const LOADED_ENV = {
  KEYD_STATS_INTERVAL_SECONDS: '5',
  KEYD_RECONCILE_INTERVAL_SECONDS: '10',
  KEYD_CONFIG_WRITE_WINDOW_MS: '1000',
};
const CONCURRENCY = 16;
const SHUTDOWN_BURST = 200;
const GRANT_SECONDS = 30 * 86_400;
/** keyd's default heap growth cap, and V8's own factor for the side-by-side run against it. */
const DEFAULT_HEAP_GROWTH = loadConfig({}).memory.heapGrowthPercent;
const UNCAPPED_ENV = { ...LOADED_ENV, KEYD_HEAP_GROWTH_PERCENT: '0' };

export const TARGETS = {
  grantRatio: 0.8,
  p99Ms: 100,
  rssBytes: 200e6,
  readyMs: 2000,
  exitMs: 10_000,
};

interface NodeFigures {
  keys: number;
  grants: RunFigures;
  maxRssBytes: number;
}

export interface FullSizeFigures {
  size: number;
  seedConcurrency: number;
  seed: RunFigures;
  empty: NodeFigures;
  full: NodeFigures;
  grantRatio: number | null;
  /** VmHWM of the keyd that was seeded through the API and then measured: its whole life. */
  seededPeakRssBytes: number;
  /** SIGTERM right after a burst of grants, so the last config write has work to do. */
  exitMs: number;
  readyMs: number;
  /** The restarted keyd, after its startup pass and a poll and a pass at full size. */
  restartedRssBytes: number;
  restartedPeakRssBytes: number;
  /**
   * The same grants on the restarted node, once with keyd's default heap
   * growth cap and once with V8's own factor (KEYD_HEAP_GROWTH_PERCENT=0).
   */
  heap: { capped: NodeFigures; uncapped: NodeFigures };
}

/**
 * n grants at c=16 to a keyd of its own, with its peak RSS over them. A
 * first, unmeasured third as many warm a newly started process up, as the
 * seeding warmed the first one.
 */
async function grantsTo(keyd: KeydProcess, keys: number, n: number, prefix: string): Promise<NodeFigures> {
  const api = keyd.client();
  const load = (count: number, tag: string) =>
    runClosedLoop({
      count,
      concurrency: CONCURRENCY,
      deadlineMs: 300_000,
      op: (i) => api.grant(`${prefix}-${tag}-${i}`, GRANT_SECONDS),
    });
  await load(Math.ceil(n / 3), 'warm');
  const sampler = new ProcessSampler(keyd.pid as number).start();
  try {
    const run = await load(n, 'measured');
    if (run.ok !== n) throw new Error(`${prefix}: ${run.ok} of ${n} grants answered: ${run.firstError ?? ''}`);
    sampler.stop();
    await sampler.sample();
    return { keys, grants: figures(n, run), maxRssBytes: sampler.maxRss() };
  } finally {
    sampler.stop();
    api.close();
  }
}

async function measuredGrants(stack: GrantStack, n: number, prefix: string): Promise<NodeFigures> {
  const pid = stack.keyd.pid as number;
  const sampler = new ProcessSampler(pid).start();
  const run = await stack.grants(n, CONCURRENCY, prefix);
  sampler.stop();
  await sampler.sample();
  return { keys: 0, grants: figures(n, run), maxRssBytes: sampler.maxRss() };
}

/**
 * One node seeded with `--full-size` keys through keyd's own gRPC API, next to
 * an empty node, each granting at c=16 while the config writer, the usage
 * poller and reconcile passes run. Then SIGTERM-to-exit and start-to-ready on
 * the real core that holds every one of those users.
 */
export async function fullSizeScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const { options } = ctx;
  const size = options.fullSize;
  const n = options.fullGrants;

  ctx.progress(`full size: ${n} grants at c=${CONCURRENCY} on an empty node`);
  const emptyStack = await GrantStack.start(await ctx.scratch('full-size-empty'), { keydEnv: LOADED_ENV });
  let empty: NodeFigures;
  try {
    empty = { ...(await measuredGrants(emptyStack, n, 'empty')), keys: 0 };
  } finally {
    await emptyStack.stop();
  }

  const dir = await ctx.scratch('full-size');
  const stack = await GrantStack.start(dir, { keydEnv: LOADED_ENV, readyTimeoutMs: 120_000 });
  let seed: RunFigures;
  let full: NodeFigures;
  let seededPeakRssBytes: number;
  let exitMs: number;
  try {
    ctx.progress(`full size: seeding ${fmt.size(size)} keys through the gRPC API at c=${options.seedConcurrency}`);
    const seeded = await stack.grants(size, options.seedConcurrency, 'seed');
    seed = figures(size, seeded);
    if (seeded.ok !== size) throw new Error(`seeding granted ${seeded.ok} of ${size}: ${seeded.firstError ?? ''}`);
    ctx.progress(`full size: ${n} grants at c=${CONCURRENCY} on the ${fmt.size(size)} node`);
    full = { ...(await measuredGrants(stack, n, 'full')), keys: size };
    const sampler = new ProcessSampler(stack.keyd.pid as number);
    seededPeakRssBytes = await sampler.peakRss();
    ctx.progress('full size: SIGTERM right after a burst of grants');
    await stack.grants(SHUTDOWN_BURST, CONCURRENCY, 'last');
    const t0 = Date.now();
    await stopKeyd(stack.keyd);
    exitMs = Date.now() - t0;
  } catch (e) {
    await stack.stop();
    throw e;
  }

  ctx.progress('full size: restart on the core that holds every key');
  const t0 = Date.now();
  const keyd = await startKeyd({
    dbPath: path.join(dir, 'keyd.sqlite'),
    core: stack.core,
    livePath: stack.files.livePath,
    env: LOADED_ENV,
    readyTimeoutMs: 120_000,
  });
  const readyMs = Date.now() - t0;
  let restartedRssBytes: number;
  let restartedPeakRssBytes: number;
  let capped: NodeFigures;
  let uncapped: NodeFigures;
  try {
    // Long enough for a usage poll and a reconcile pass at full size.
    await new Promise((r) => setTimeout(r, 12_000));
    const sampler = new ProcessSampler(keyd.pid as number);
    restartedRssBytes = (await sampler.sample()).rssBytes;
    restartedPeakRssBytes = await sampler.peakRss();
    ctx.progress(`full size: ${n} grants with the heap growth cap, then ${n} with V8's own factor`);
    capped = await grantsTo(keyd, size, n, 'capped');
    await stopKeyd(keyd);
    const plain = await startKeyd({
      dbPath: path.join(dir, 'keyd.sqlite'),
      core: stack.core,
      livePath: stack.files.livePath,
      env: UNCAPPED_ENV,
      readyTimeoutMs: 120_000,
    });
    try {
      await new Promise((r) => setTimeout(r, 12_000));
      uncapped = await grantsTo(plain, size, n, 'uncapped');
    } finally {
      await stopKeyd(plain);
    }
  } finally {
    if (keyd.pid !== undefined) await stopKeyd(keyd);
    stack.api.close();
    stack.raw.close();
    await stack.core.stop();
  }

  const data: FullSizeFigures = {
    size,
    seedConcurrency: options.seedConcurrency,
    seed,
    empty,
    full,
    grantRatio: ratio(full.grants.perSecond, empty.grants.perSecond),
    seededPeakRssBytes,
    exitMs,
    readyMs,
    restartedRssBytes,
    restartedPeakRssBytes,
    heap: { capped, uncapped },
  };
  return { name: 'full-size', rows: rowsOf(data), notes: notesOf(data), data };
}

const met = (ok: boolean) => (ok ? 'met' : 'missed');

function rowsOf(d: FullSizeFigures): SummaryRow[] {
  const at = `${fmt.size(d.size)} keys`;
  const peak = Math.max(d.seededPeakRssBytes, d.restartedPeakRssBytes);
  return [
    {
      figure: `grants/s at c=${CONCURRENCY}, full node ÷ empty node`,
      size: `${at} / 0`,
      ratio: fmt.ratio(d.grantRatio),
      keyd: `${fmt.rate(d.full.grants.perSecond)}, p99 ${fmt.ms(d.full.grants.latency.p99Ms)}`,
      reference: `empty ${fmt.rate(d.empty.grants.perSecond)}, p99 ${fmt.ms(d.empty.grants.latency.p99Ms)}`,
    },
    {
      figure: `p99 of a grant at c=${CONCURRENCY} ÷ the ${TARGETS.p99Ms} ms target`,
      size: at,
      ratio: fmt.ratio(ratio(d.full.grants.latency.p99Ms, TARGETS.p99Ms)),
      keyd: `p50/p95/p99 ${d.full.grants.latency.p50Ms}/${d.full.grants.latency.p95Ms}/${d.full.grants.latency.p99Ms} ms`,
      reference: `target ${TARGETS.p99Ms} ms`,
    },
    {
      figure: 'keyd RSS, peak ÷ the 200 MB target',
      size: at,
      ratio: fmt.ratio(ratio(peak, TARGETS.rssBytes)),
      keyd:
        `peak ${fmt.bytes(peak)} (seeding and grants ${fmt.bytes(d.seededPeakRssBytes)}, ` +
        `restarted ${fmt.bytes(d.restartedPeakRssBytes)}); ${fmt.bytes(d.restartedRssBytes)} after a poll and a pass`,
      reference: `empty node during grants ${fmt.bytes(d.empty.maxRssBytes)}`,
    },
    {
      figure: 'start to /readyz 200 ÷ the 2 s target',
      size: `${at} in the core`,
      ratio: fmt.ratio(ratio(d.readyMs, TARGETS.readyMs)),
      keyd: fmt.ms(d.readyMs),
      reference: 'target 2 s',
    },
    {
      figure: 'SIGTERM to exit ÷ the 10 s target',
      size: at,
      ratio: fmt.ratio(ratio(d.exitMs, TARGETS.exitMs)),
      keyd: `${fmt.ms(d.exitMs)}, right after ${SHUTDOWN_BURST} grants`,
      reference: 'target 10 s',
    },
    {
      figure: `heap growth capped at ${DEFAULT_HEAP_GROWTH}% ÷ V8's own factor, restarted node, c=${CONCURRENCY}`,
      size: at,
      ratio:
        `grants/s ${fmt.ratio(ratio(d.heap.capped.grants.perSecond, d.heap.uncapped.grants.perSecond))}, ` +
        `p99 ${fmt.ratio(ratio(d.heap.capped.grants.latency.p99Ms, d.heap.uncapped.grants.latency.p99Ms))}, ` +
        `peak RSS ${fmt.ratio(ratio(d.heap.capped.maxRssBytes, d.heap.uncapped.maxRssBytes))}`,
      keyd: `${fmt.rate(d.heap.capped.grants.perSecond)}, p99 ${fmt.ms(d.heap.capped.grants.latency.p99Ms)}, ${fmt.bytes(d.heap.capped.maxRssBytes)}`,
      reference: `${fmt.rate(d.heap.uncapped.grants.perSecond)}, p99 ${fmt.ms(d.heap.uncapped.grants.latency.p99Ms)}, ${fmt.bytes(d.heap.uncapped.maxRssBytes)}`,
    },
    {
      figure: 'seeding through the gRPC API, grants/s',
      size: `${at}, c=${d.seedConcurrency}`,
      ratio: fmt.ratio(ratio(d.seed.perSecond, d.empty.grants.perSecond)),
      keyd: `${fmt.rate(d.seed.perSecond)} over ${round(d.seed.seconds, 0)} s, p99 ${fmt.ms(d.seed.latency.p99Ms)}`,
      reference: `÷ the empty node's c=${CONCURRENCY} rate`,
    },
  ];
}

function notesOf(d: FullSizeFigures): string[] {
  const peak = Math.max(d.seededPeakRssBytes, d.restartedPeakRssBytes);
  return [
    `targets: grant ratio ≥ ${TARGETS.grantRatio} ${met((d.grantRatio ?? 0) >= TARGETS.grantRatio)}; ` +
      `p99 < ${TARGETS.p99Ms} ms ${met(d.full.grants.latency.p99Ms < TARGETS.p99Ms)}; ` +
      `RSS < 200 MB ${met(peak < TARGETS.rssBytes)}; ready < 2 s ${met(d.readyMs < TARGETS.readyMs)}; ` +
      `exit < 10 s ${met(d.exitMs < TARGETS.exitMs)}`,
    `the usage poll runs every ${LOADED_ENV.KEYD_STATS_INTERVAL_SECONDS} s and a reconcile pass every ` +
      `${LOADED_ENV.KEYD_RECONCILE_INTERVAL_SECONDS} s throughout; the config file is written at most once a second`,
    `errors: seed ${d.seed.errors}, empty ${d.empty.grants.errors}, full ${d.full.grants.errors}, ` +
      `heap capped ${d.heap.capped.grants.errors}, uncapped ${d.heap.uncapped.grants.errors}`,
    'the side-by-side heap runs go one after the other on the restarted node, the uncapped one second, ' +
      'each after a warm-up of a third as many grants',
  ];
}
