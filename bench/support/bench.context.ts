import { spawnSync } from 'child_process';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as prettier from 'prettier';
import { CORE_BIN } from '../../test/support/core.harness';
import { stopAll } from '../../test/support/processes.harness';
import { BenchOptions } from './bench.options';
import { KeySeeder } from './key.seeder';

/** One line of the summary table: the ratio is the figure, the absolutes only explain it. */
export interface SummaryRow {
  figure: string;
  size: string;
  ratio: string;
  keyd: string;
  reference: string;
}

export interface ScenarioResult {
  name: string;
  rows: SummaryRow[];
  notes: string[];
  data: unknown;
}

export interface BenchContext {
  options: BenchOptions;
  /** Shared by every scenario of one run, so 100k keys are seeded once. */
  seeder: KeySeeder;
  /** Results of the scenarios that already ran, by name: the legacy flow is set next to keyd's grants. */
  earlier: Map<string, ScenarioRecord>;
  scratch(name: string): Promise<string>;
  progress(message: string): void;
}

export type Scenario = (ctx: BenchContext) => Promise<ScenarioResult | ScenarioResult[]>;

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  loadavg: number[];
  node: string;
  core: string;
  coreBin: string;
  commit: string;
  platform: string;
}

function firstLine(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000 });
  return (r.stdout || r.stderr || '').split('\n')[0]?.trim() ?? '';
}

export function machineInfo(): MachineInfo {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    loadavg: os.loadavg().map((v) => Math.round(v * 100) / 100),
    node: process.version,
    core: firstLine(CORE_BIN, ['version']),
    coreBin: firstLine('sh', ['-c', `command -v ${CORE_BIN}`]) || CORE_BIN,
    commit: firstLine('git', ['-C', path.resolve(__dirname, '../..'), 'rev-parse', '--short', 'HEAD']),
    platform: `${os.platform()} ${os.release()}`,
  };
}

const startedAt = Date.now();

export function progress(message: string): void {
  const t = ((Date.now() - startedAt) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[bench ${t}s] ${message}\n`);
}

/**
 * Everything a run starts is stopped on the way out, also on failure and on
 * Ctrl-C: the harness tracks every child, and its reaper kills them even if
 * this process is killed outright.
 */
export async function withBenchContext<T>(options: BenchOptions, fn: (ctx: BenchContext) => Promise<T>): Promise<T> {
  await fs.mkdir(options.workDir, { recursive: true });
  await fs.mkdir(options.resultsDir, { recursive: true });
  const cleanup = async (): Promise<void> => {
    await stopAll(1000);
    await fs.rm(options.workDir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    progress(`${signal}: stopping every process the bench started`);
    cleanup()
      .catch((e: unknown) => progress(`cleanup failed: ${e instanceof Error ? e.message : String(e)}`))
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const ctx: BenchContext = {
    options,
    seeder: new KeySeeder(path.join(options.workDir, 'seeds')),
    earlier: new Map(),
    scratch: async (name) => {
      const dir = path.join(options.workDir, name);
      await fs.rm(dir, { recursive: true, force: true });
      await fs.mkdir(dir, { recursive: true });
      return dir;
    },
    progress,
  };
  try {
    return await fn(ctx);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
  }
}

export interface ScenarioRecord extends ScenarioResult {
  /** The scenario that produced this result; one scenario may produce several. */
  scenario: string;
  /** The whole scenario's wall time. */
  seconds: number;
  startedAt: string;
  machineBefore: MachineInfo;
  loadavgAfter: number[];
  options: BenchOptions;
}

/** Runs one scenario and writes bench/results/<name>.json for each result it returns. */
export async function runScenario(ctx: BenchContext, name: string, scenario: Scenario): Promise<ScenarioRecord[]> {
  const machineBefore = machineInfo();
  const t0 = Date.now();
  const out = await scenario(ctx);
  const seconds = Math.round((Date.now() - t0) / 100) / 10;
  const records: ScenarioRecord[] = [];
  for (const result of Array.isArray(out) ? out : [out]) {
    const record: ScenarioRecord = {
      ...result,
      scenario: name,
      seconds,
      startedAt: new Date(t0).toISOString(),
      machineBefore,
      loadavgAfter: os.loadavg().map((v) => Math.round(v * 100) / 100),
      options: ctx.options,
    };
    await writeResult(ctx.options.resultsDir, result.name, record);
    ctx.earlier.set(result.name, record);
    records.push(record);
  }
  ctx.progress(`${name}: done in ${seconds} s`);
  return records;
}

/** Formatted the way the repository's prettier config wants, so committed results pass the format check. */
export async function writeResult(dir: string, name: string, value: unknown): Promise<string> {
  const file = path.join(dir, `${name}.json`);
  await fs.mkdir(dir, { recursive: true });
  const config = (await prettier.resolveConfig(file)) ?? {};
  await fs.writeFile(file, await prettier.format(JSON.stringify(value), { ...config, parser: 'json' }));
  return file;
}

export function formatTable(rows: SummaryRow[]): string {
  const header: SummaryRow = { figure: 'figure', size: 'size', ratio: 'ratio', keyd: 'keyd', reference: 'reference' };
  const cols: (keyof SummaryRow)[] = ['figure', 'size', 'ratio', 'keyd', 'reference'];
  const all = [header, ...rows];
  const width = cols.map((c) => Math.max(...all.map((r) => r[c].length)));
  const line = (r: SummaryRow) => `| ${cols.map((c, i) => r[c].padEnd(width[i] as number)).join(' | ')} |`;
  const rule = `|${width.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

export const fmt = {
  rate: (perSecond: number) => `${perSecond >= 100 ? Math.round(perSecond) : perSecond.toFixed(1)}/s`,
  ms: (ms: number) =>
    ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 100 ? `${Math.round(ms)} ms` : `${ms.toFixed(1)} ms`,
  bytes: (b: number) => (b >= 1e6 ? `${(b / 1e6).toFixed(1)} MB` : b >= 1e3 ? `${(b / 1e3).toFixed(1)} kB` : `${b} B`),
  pct: (share: number) => `${(share * 100).toFixed(share > 0 && share < 0.01 ? 2 : 1)}%`,
  ratio: (r: number | null, suffix = '') => (r === null ? 'n/a' : `${r >= 10 ? r.toFixed(0) : r.toFixed(2)}${suffix}`),
  size: (n: number) => (n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n)),
};
