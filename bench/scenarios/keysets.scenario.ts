import * as path from 'path';
import { CoreProcess } from '../../test/support/core.harness';
import { KeydProcess } from '../../test/support/keyd.harness';
import { HttpTarget, startHttpTarget } from '../../test/support/target.harness';
import { probeKeys } from '../../test/support/vless-client.harness';
import { BenchContext, ScenarioResult, SummaryRow, fmt } from '../support/bench.context';
import {
  INBOUND_TAG,
  adminReconcile,
  fileClientIds,
  pickSample,
  rawClient,
  rawUser,
  startCoreTimed,
  startKeyd,
  stopKeyd,
  writeCoreFiles,
} from '../support/bench.stack';
import { GrantStack, IssuedKey } from '../support/grant.stack';
import { SeededDb } from '../support/key.seeder';
import { LogEntry, waitForLog } from '../support/keyd-log.reader';
import { growthExponent, median, ratio, round } from '../support/latency.stats';
import { runClosedLoop } from '../support/load.runner';
import { ProcessMemory, processMemory } from '../support/proc-status.reader';
import { CORE_CALLS, scrape } from '../support/prometheus.scraper';
import { RunFigures, figures } from './grants.scenario';

/** keyd's recovery pushes this many keys at once (libs/reconcile/src/key.pusher.ts); the ceiling uses the same. */
const RECOVERY_CONCURRENCY = 32;
/** Long enough that keyd does not rewrite the config file between the late grants and the core's restart. */
const FROZEN_WRITE_WINDOW_MS = '600000';
const IDLE_PASSES = 3;
const PER_KEY_OPERATIONS = ['add_user', 'remove_user'];

export interface IdleFigures {
  size: number;
  passes: { durationMs: number; coreCalls: Record<string, number>; perKeyCalls: number; totalCalls: number }[];
  memoryAtReady: ProcessMemory;
  memoryAfterPasses: ProcessMemory;
  keydReadyMs: number;
}

export interface LoadedGrantFigures {
  size: number;
  concurrency: number;
  raw: RunFigures;
  keyd: RunFigures;
  ratio: number | null;
}

export interface RecoveryRun {
  /** How the core came back: from the persisted file, or from the base config without users. */
  from: 'file' | 'base';
  coreBootMs: number;
  /** keyd's log line that saw the core again, relative to the core accepting connections. */
  detectedAfterMs: number | null;
  /** End of keyd's reconcile pass, relative to the core accepting connections: when every key is back. */
  allPresentAfterMs: number | null;
  passDurationMs: number | null;
  added: number | null;
  failed: number | null;
  mode: string;
  traffic: { probed: number; passed: number };
}

export interface RecoveryFigures {
  size: number;
  activeKeys: number;
  lateKeys: number;
  lateKeysInFileBeforeRestart: number;
  file: RecoveryRun;
  base: RecoveryRun;
  ceiling: { adds: number; perSecond: number; concurrency: number };
  fullPushPerSecond: number | null;
  fullPushRatio: number | null;
}

interface KeysetData {
  idle: IdleFigures[];
  loadedGrants: LoadedGrantFigures[];
  recovery: RecoveryFigures[];
}

/**
 * Per key count: keyd on a node that already holds that many keys (seeded
 * straight into SQLite, the core booted from the matching file). First with
 * keyd's defaults: the idle pass, RSS, and a grant burst; then with the config
 * file frozen, so that a core restart finds the file behind by the late keys,
 * recovery from the file and from a base config without users.
 */
export async function keysetsScenario(ctx: BenchContext): Promise<ScenarioResult[]> {
  const { options } = ctx;
  const all = [...new Set([...options.idleSizes, ...options.sizes])].sort((a, b) => a - b);
  ctx.progress(`keysets: seeding ${all.filter((s) => s > 0).join(', ')} keys`);
  const seeds = await ctx.seeder.sizes(all.filter((s) => s > 0));
  const data: KeysetData = { idle: [], loadedGrants: [], recovery: [] };
  const target = await startHttpTarget();
  try {
    for (const size of all) {
      const seeded = size > 0 ? (seeds.get(size) as SeededDb) : undefined;
      const dir = await ctx.scratch(`keyset-${size}`);
      const stack = await GrantStack.start(dir, { seeded, readyTimeoutMs: 240_000 });
      try {
        if (options.idleSizes.includes(size)) data.idle.push(await idle(ctx, stack, size));
        if (options.sizedGrants > 0) data.loadedGrants.push(await loadedGrants(ctx, stack, size));
      } finally {
        stack.api.close();
        stack.raw.close();
        await stopKeyd(stack.keyd);
      }
      try {
        if (seeded && options.sizes.includes(size)) data.recovery.push(await recovery(ctx, stack, seeded, target));
      } finally {
        await stack.core.stop();
      }
    }
  } finally {
    await target.close();
  }
  return [recoveryResult(data), idleResult(data), loadedGrantsResult(ctx, data)];
}

async function idle(ctx: BenchContext, stack: GrantStack, size: number): Promise<IdleFigures> {
  ctx.progress(`idle ${fmt.size(size)}: ${IDLE_PASSES} reconcile passes with nothing to change`);
  const pid = stack.keyd.pid as number;
  const memoryAtReady = await processMemory(pid);
  const passes: IdleFigures['passes'] = [];
  for (let i = 0; i < IDLE_PASSES; i++) {
    const before = await scrape(stack.keyd.httpUrl);
    const report = await adminReconcile(stack.keyd);
    const after = await scrape(stack.keyd.httpUrl);
    const b = before.byLabel(CORE_CALLS, 'operation');
    const coreCalls = Object.fromEntries(
      Object.entries(after.byLabel(CORE_CALLS, 'operation'))
        .map(([op, v]) => [op, v - (b[op] ?? 0)] as const)
        .filter(([, v]) => v > 0),
    );
    const perKeyCalls = PER_KEY_OPERATIONS.reduce((n, op) => n + (coreCalls[op] ?? 0), 0);
    const totalCalls = Object.values(coreCalls).reduce((n, v) => n + v, 0);
    passes.push({ durationMs: parseSeconds(report['duration']) * 1000, coreCalls, perKeyCalls, totalCalls });
  }
  return { size, passes, memoryAtReady, memoryAfterPasses: await processMemory(pid), keydReadyMs: stack.keydReadyMs };
}

async function loadedGrants(ctx: BenchContext, stack: GrantStack, size: number): Promise<LoadedGrantFigures> {
  const { sizedGrants: n } = ctx.options;
  const concurrency = Math.max(...ctx.options.concurrency);
  ctx.progress(`loaded node ${fmt.size(size)}: ${n} raw adds and ${n} grants at c=${concurrency}`);
  const raw = figures(n, await stack.rawAdds(n, concurrency, `loaded-raw-${size}`));
  const keyd = figures(n, await stack.grants(n, concurrency, `loaded-${size}`));
  return { size, concurrency, raw, keyd, ratio: ratio(keyd.perSecond, raw.perSecond) };
}

async function recovery(
  ctx: BenchContext,
  stack: GrantStack,
  seeded: SeededDb,
  target: HttpTarget,
): Promise<RecoveryFigures> {
  const { options } = ctx;
  const { core, files } = stack;
  const size = seeded.size;
  const keyd = await startKeyd({
    dbPath: path.join(path.dirname(files.livePath), 'keyd.sqlite'),
    core,
    livePath: files.livePath,
    env: { KEYD_CONFIG_WRITE_WINDOW_MS: FROZEN_WRITE_WINDOW_MS },
    readyTimeoutMs: 240_000,
  });
  const api = keyd.client();
  try {
    const active = (await fileClientIds(files.livePath)).size;
    const ceiling = await rawCeiling(ctx, seeded, Math.min(active, options.rawCap));

    ctx.progress(`recovery ${fmt.size(size)}: ${options.lateKeys} grants the config file will not hold`);
    const late = await runClosedLoop<IssuedKey>({
      count: options.lateKeys,
      concurrency: 16,
      deadlineMs: 120_000,
      op: async (i) => {
        const res = await api.grant(`late-${size}-${i}`, 30 * 86_400);
        return { uuid: res.key.uuid, email: res.key.email, provisioned: res.key.provisioned };
      },
    });
    if (late.errors) throw new Error(`late grants failed: ${late.firstError}`);
    const inFile = await fileClientIds(files.livePath);
    const lateKeysInFileBeforeRestart = late.results.filter((k) => inFile.has(k.uuid)).length;
    const probeSet = [
      ...pickSample(seeded.keys, options.sample).map((k) => k.uuid),
      ...pickSample(late.results, options.sample).map((k) => k.uuid),
    ];

    ctx.progress(`recovery ${fmt.size(size)}: core restarted from the persisted file`);
    const file = await restartAndWait(keyd, core, files.livePath, 'file', active + late.ok);
    file.traffic = await traffic(core, probeSet, target);

    ctx.progress(`recovery ${fmt.size(size)}: core restarted from the base config, every key re-pushed`);
    const base = await restartAndWait(keyd, core, files.basePath, 'base', active + late.ok);
    base.traffic = await traffic(core, probeSet, target);

    const fullPushPerSecond =
      base.added && base.passDurationMs ? round(base.added / (base.passDurationMs / 1000), 1) : null;
    return {
      size,
      activeKeys: active + late.ok,
      lateKeys: late.ok,
      lateKeysInFileBeforeRestart,
      file,
      base,
      ceiling,
      fullPushPerSecond,
      fullPushRatio: fullPushPerSecond === null ? null : ratio(fullPushPerSecond, ceiling.perSecond),
    };
  } finally {
    api.close();
    await stopKeyd(keyd);
  }
}

/**
 * The full re-push's ceiling: as many keys as keyd pushes (up to the cap),
 * the seeded ones first, added straight to a second core booted from the base
 * config, at the concurrency keyd's recovery uses.
 */
async function rawCeiling(ctx: BenchContext, seeded: SeededDb, count: number): Promise<RecoveryFigures['ceiling']> {
  ctx.progress(`recovery ${fmt.size(seeded.size)}: ceiling, ${count} raw adds to a core without users`);
  const dir = await ctx.scratch(`ceiling-${seeded.size}`);
  const files = await writeCoreFiles(dir);
  const { core } = await startCoreTimed(files, files.basePath);
  const client = rawClient(core.apiAddr);
  try {
    const users = seeded.keys.slice(0, count).map((k) => ({ email: k.email, uuid: k.uuid, flow: '', level: 0 }));
    while (users.length < count) users.push(rawUser(`ceiling-${users.length}`));
    const run = await runClosedLoop({
      count: users.length,
      concurrency: RECOVERY_CONCURRENCY,
      deadlineMs: 600_000,
      op: (i) => client.addUser(INBOUND_TAG, users[i] as (typeof users)[number]),
    });
    if (run.errors) throw new Error(`raw ceiling adds failed: ${run.firstError}`);
    return { adds: run.ok, perSecond: round(run.ok / run.seconds, 1), concurrency: RECOVERY_CONCURRENCY };
  } finally {
    client.close();
    await core.stop();
  }
}

/**
 * Kills the core, starts it from `configPath`, and waits for keyd's reconcile
 * pass that the restart triggers. Times come from keyd's own log lines, which
 * carry keyd's clock (the same machine clock as ours), not from polling.
 */
async function restartAndWait(
  keyd: KeydProcess,
  core: CoreProcess,
  configPath: string,
  from: RecoveryRun['from'],
  activeKeys: number,
): Promise<RecoveryRun> {
  const killedAt = Date.now();
  await core.kill('SIGKILL');
  const bootStart = Date.now();
  await core.start(configPath);
  const readyAt = Date.now();
  const after = (e: LogEntry) => e.timeMs >= killedAt;
  const timeoutMs = 120_000 + activeKeys * 5;
  const pass = await waitForLog(
    keyd,
    (e) => after(e) && e.msg === 'reconcile pass' && String(e.fields['reason']).startsWith('core '),
    timeoutMs,
    200,
  );
  const detected = await waitForLog(
    keyd,
    (e) => after(e) && (e.msg === 'core restart detected' || e.msg === 'core reachable again'),
    1000,
  );
  const recovered = await waitForLog(keyd, (e) => after(e) && e.msg.startsWith('core recovered'), 1000);
  const mode = recovered ? String(recovered.fields['mode']) : pass ? 'intact' : 'no pass seen';
  return {
    from,
    coreBootMs: readyAt - bootStart,
    detectedAfterMs: detected ? detected.timeMs - readyAt : null,
    allPresentAfterMs: pass ? pass.timeMs - readyAt : null,
    passDurationMs: pass ? Number(pass.fields['durationMs']) : null,
    added: pass ? Number(pass.fields['added']) : null,
    failed: pass ? Number(pass.fields['failed']) : null,
    mode,
    traffic: { probed: 0, passed: 0 },
  };
}

/** Real VLESS traffic through a sample of keys: a check that reads without changing the core. */
async function traffic(core: CoreProcess, uuids: string[], target: HttpTarget): Promise<RecoveryRun['traffic']> {
  const results = await probeKeys({ vlessPort: core.vlessPort, uuids, target });
  return { probed: results.size, passed: [...results.values()].filter(Boolean).length };
}

function parseSeconds(value: unknown): number {
  const m = /^([\d.]+)s$/.exec(String(value));
  return m ? Number(m[1]) : NaN;
}

function growthNote(label: string, points: { size: number; cost: number | null }[]): string | null {
  const valid = points.filter((p): p is { size: number; cost: number } => p.cost !== null && p.cost > 0);
  if (valid.length < 2) return null;
  const first = valid[0] as { size: number; cost: number };
  const last = valid[valid.length - 1] as { size: number; cost: number };
  const k = growthExponent(first.size, first.cost, last.size, last.cost);
  if (k === null) return null;
  const shape = k < 0.2 ? 'flat' : k < 0.8 ? 'sublinear' : k < 1.2 ? 'linear' : 'superlinear';
  return (
    `${label}: ×${fmt.ratio(last.cost / first.cost)} from ${fmt.size(first.size)} to ${fmt.size(last.size)} keys ` +
    `(exponent ${k}, ${shape})`
  );
}

function recoveryResult(data: KeysetData): ScenarioResult {
  const rows: SummaryRow[] = [];
  for (const r of data.recovery) {
    const size = `${fmt.size(r.size)} keys`;
    const f = r.file;
    rows.push({
      figure: 'recovery from file: pass ÷ full pass',
      size,
      ratio: fmt.ratio(ratio(f.passDurationMs ?? 0, r.base.passDurationMs ?? 0)),
      keyd:
        `${f.mode}, ${f.added ?? '?'} pushed, pass ${fmtMs(f.passDurationMs)}; all present ` +
        `${fmtMs(f.allPresentAfterMs)} after core up`,
      reference: `full pass ${fmtMs(r.base.passDurationMs)}; core boot ${fmt.ms(f.coreBootMs)}`,
    });
    rows.push({
      figure: 'full re-push keys/s ÷ raw adds/s',
      size,
      ratio: fmt.ratio(r.fullPushRatio),
      keyd:
        `${r.fullPushPerSecond === null ? 'n/a' : fmt.rate(r.fullPushPerSecond)}, ${r.base.added ?? '?'} keys; all ` +
        `present ${fmtMs(r.base.allPresentAfterMs)} after core up`,
      reference: `raw ${fmt.rate(r.ceiling.perSecond)} (c=${r.ceiling.concurrency}, ${r.ceiling.adds} adds)`,
    });
  }
  const notes = [
    growthNote(
      'recovery from the file, pass duration',
      data.recovery.map((r) => ({ size: r.size, cost: r.file.passDurationMs })),
    ),
    growthNote(
      'recovery from the file, core up to all present',
      data.recovery.map((r) => ({ size: r.size, cost: r.file.allPresentAfterMs })),
    ),
    growthNote(
      'full re-push, pass duration',
      data.recovery.map((r) => ({ size: r.size, cost: r.base.passDurationMs })),
    ),
  ].filter((n): n is string => n !== null);
  for (const r of data.recovery) {
    for (const run of [r.file, r.base]) {
      const ok = run.traffic.passed === run.traffic.probed;
      notes.push(
        `${fmt.size(r.size)} from ${run.from}: mode ${run.mode}, ${run.failed ?? '?'} failed, ` +
          `traffic through ${run.traffic.passed} of ${run.traffic.probed} sampled keys${ok ? '' : ' — KEYS MISSING'}`,
      );
    }
    if (r.lateKeysInFileBeforeRestart) {
      notes.push(`${fmt.size(r.size)}: ${r.lateKeysInFileBeforeRestart} late keys were already in the file`);
    }
  }
  return { name: 'recovery', rows, notes, data: { recovery: data.recovery } };
}

function idleResult(data: KeysetData): ScenarioResult {
  const rows: SummaryRow[] = [];
  const zero = data.idle.find((i) => i.size === 0) ?? data.idle[0];
  for (const i of data.idle) {
    const size = `${fmt.size(i.size)} keys`;
    const worst = i.passes.reduce(
      (a, p) => (p.totalCalls > a.totalCalls ? p : a),
      i.passes[0] as IdleFigures['passes'][0],
    );
    const calls = Object.entries(worst.coreCalls)
      .map(([op, n]) => `${op} ${n}`)
      .join(', ');
    rows.push({
      figure: 'idle pass: per-key core calls ÷ keys',
      size,
      ratio: i.size > 0 ? fmt.ratio(worst.perKeyCalls / i.size) : 'n/a',
      keyd: `${worst.totalCalls} core calls (${calls || 'none'}), pass ${fmt.ms(median(i.passes.map((p) => p.durationMs)))}`,
      reference: `${i.size} active keys`,
    });
    rows.push({
      figure: 'keyd RSS ÷ RSS at 0 keys',
      size,
      ratio: zero ? fmt.ratio(ratio(i.memoryAfterPasses.rssBytes, zero.memoryAfterPasses.rssBytes)) : 'n/a',
      keyd: `${fmt.bytes(i.memoryAfterPasses.rssBytes)} (peak ${fmt.bytes(i.memoryAfterPasses.peakRssBytes)})`,
      reference: zero ? `${fmt.bytes(zero.memoryAfterPasses.rssBytes)} at ${fmt.size(zero.size)} keys` : 'n/a',
    });
  }
  const notes = [
    growthNote(
      'idle pass duration',
      data.idle.map((i) => ({ size: i.size, cost: median(i.passes.map((p) => p.durationMs)) })),
    ),
    growthNote(
      'keyd start to ready',
      data.idle.map((i) => ({ size: i.size, cost: i.keydReadyMs })),
    ),
    `keyd start to ready: ${data.idle.map((i) => `${fmt.ms(i.keydReadyMs)} at ${fmt.size(i.size)}`).join(', ')}`,
  ].filter((n): n is string => n !== null);
  return { name: 'idle', rows, notes, data: { idle: data.idle } };
}

function loadedGrantsResult(ctx: BenchContext, data: KeysetData): ScenarioResult {
  const rows: SummaryRow[] = data.loadedGrants.map((g) => ({
    figure: 'grants/s ÷ raw adds/s, loaded node',
    size: `${fmt.size(g.size)} keys, c=${g.concurrency} N=${fmt.size(g.keyd.requested)}`,
    ratio: fmt.ratio(g.ratio),
    keyd: `${fmt.rate(g.keyd.perSecond)}, p50/p99 ${g.keyd.latency.p50Ms}/${g.keyd.latency.p99Ms} ms`,
    reference: `raw ${fmt.rate(g.raw.perSecond)}, p99 ${g.raw.latency.p99Ms} ms`,
  }));
  const notes = [
    growthNote(
      'grant p99 latency on a loaded node',
      data.loadedGrants.filter((g) => g.size > 0).map((g) => ({ size: g.size, cost: g.keyd.latency.p99Ms })),
    ),
  ].filter((n): n is string => n !== null);
  notes.push(`${ctx.options.sizedGrants} grants per size, with keyd's defaults (config write window 1 s).`);
  return { name: 'loaded-grants', rows, notes, data: { loadedGrants: data.loadedGrants } };
}

function fmtMs(ms: number | null): string {
  return ms === null ? 'n/a' : fmt.ms(ms);
}
