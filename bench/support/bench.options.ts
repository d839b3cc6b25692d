import * as os from 'os';
import * as path from 'path';
import { parseArgs } from 'util';

export const SCENARIOS = [
  'grants',
  'legacy',
  'keysets',
  'config-write',
  'usage-poll',
  'import',
  'full-size',
  'soak',
  'fleet',
] as const;
export type ScenarioName = (typeof SCENARIOS)[number];
/** The soak and the fleet (eleven keyds and cores) run for minutes on end, so only when asked for by name. */
const DEFAULT_SCENARIOS = SCENARIOS.filter((s) => s !== 'soak' && s !== 'fleet');

export interface BenchOptions {
  /** Grants per concurrency level, and raw adds for the ceiling. */
  n: number;
  /** Grants at concurrency 1, which is slow enough to need its own size. */
  nSerial: number;
  /** Closed-loop concurrency levels for grants and the legacy flow. */
  concurrency: number[];
  /** Issuances per concurrency level of the legacy flow; it restarts the core for each. */
  legacyN: number;
  /** Wall-clock cap on the legacy flow, all levels together; a level cut short says so. */
  legacyBudgetSeconds: number;
  /** Active-key counts for recovery, config writes and grants on a loaded node. */
  sizes: number[];
  /** Active-key counts for the idle pass and RSS. */
  idleSizes: number[];
  /** Grants at the highest concurrency on a node that already holds each size. */
  sizedGrants: number;
  /** Seeded keys checked with real VLESS traffic after each recovery. */
  sample: number;
  /** Keys granted after the config file's last write, which recovery from the file must replay. */
  lateKeys: number;
  /** At most this many raw adds measure the full-recovery ceiling. */
  rawCap: number;
  /** Config file writes timed per size and variant; the median is reported. */
  writeReps: number;
  /** Owner rows `keyd import` adopts, timed against as many raw adds. */
  importRows: number;
  /** Active keys of the full-size node, seeded through the gRPC API; also the soak's size. */
  fullSize: number;
  /** Grants measured at c=16 on the empty and on the full-size node. */
  fullGrants: number;
  /** Concurrency of the seeding through the API. */
  seedConcurrency: number;
  /** Keys every node of the fleet scenario holds. */
  fleetKeys: number;
  /** Length of the soak. */
  minutes: number;
  only: ScenarioName[];
  resultsDir: string;
  /** Scratch space for databases, configs and seeds; removed at the end. */
  workDir: string;
}

interface Knob {
  flag: string;
  env: string;
  help: string;
}

const KNOBS = {
  n: { flag: 'n', env: 'BENCH_N', help: 'grants per concurrency level (5000)' },
  nSerial: { flag: 'n-serial', env: 'BENCH_N_SERIAL', help: 'grants at concurrency 1 (5000)' },
  concurrency: { flag: 'concurrency', env: 'BENCH_CONCURRENCY', help: 'concurrency levels (1,16,64)' },
  legacyN: { flag: 'legacy-n', env: 'BENCH_LEGACY_N', help: 'legacy issuances per level (500)' },
  legacyBudgetSeconds: {
    flag: 'legacy-budget',
    env: 'BENCH_LEGACY_BUDGET_S',
    help: 'seconds for the legacy flow, all levels (150)',
  },
  sizes: { flag: 'sizes', env: 'BENCH_SIZES', help: 'key counts for recovery and writes (1000,10000,100000)' },
  idleSizes: { flag: 'idle-sizes', env: 'BENCH_IDLE_SIZES', help: 'key counts for idle pass and RSS (0,10000,100000)' },
  sizedGrants: { flag: 'sized-grants', env: 'BENCH_SIZED_GRANTS', help: 'grants on a loaded node, per size (1000)' },
  sample: { flag: 'sample', env: 'BENCH_SAMPLE', help: 'seeded keys probed with traffic after recovery (100)' },
  lateKeys: { flag: 'late-keys', env: 'BENCH_LATE_KEYS', help: 'keys missing from the file at restart (100)' },
  rawCap: { flag: 'raw-cap', env: 'BENCH_RAW_CAP', help: 'raw adds measuring the full-recovery ceiling (20000)' },
  writeReps: { flag: 'write-reps', env: 'BENCH_WRITE_REPS', help: 'config writes timed per size (3)' },
  importRows: { flag: 'import-rows', env: 'BENCH_IMPORT_ROWS', help: 'owner rows keyd import adopts (100000)' },
  fullSize: { flag: 'full-size', env: 'BENCH_FULL_SIZE', help: 'keys seeded through the API for full-size (100000)' },
  fullGrants: { flag: 'full-grants', env: 'BENCH_FULL_GRANTS', help: 'grants at c=16 per full-size node (3000)' },
  seedConcurrency: { flag: 'seed-concurrency', env: 'BENCH_SEED_CONCURRENCY', help: 'seeding concurrency (32)' },
  fleetKeys: { flag: 'fleet-keys', env: 'BENCH_FLEET_KEYS', help: 'keys on each of the 10 fleet nodes (10000)' },
  minutes: { flag: 'minutes', env: 'BENCH_MINUTES', help: 'soak length in minutes (10)' },
  only: {
    flag: 'only',
    env: 'BENCH_ONLY',
    help: `scenarios to run (${DEFAULT_SCENARIOS.join(',')}; soak and fleet only by name)`,
  },
  workDir: { flag: 'work-dir', env: 'BENCH_WORK_DIR', help: 'scratch directory (a fresh one under the tmpdir)' },
} satisfies Partial<Record<keyof BenchOptions, Knob>>;

export function usage(): string {
  const lines = Object.values(KNOBS).map((k) => `  --${k.flag.padEnd(14)} ${k.env.padEnd(22)} ${k.help}`);
  return ['usage: npm run bench -- [--flag value]...   (flags override the environment)', ...lines].join('\n');
}

/** A flag wins over the environment variable, which wins over the default. */
function raw(knob: Knob, flags: Record<string, string | boolean | undefined>): string | undefined {
  const flag = flags[knob.flag];
  if (typeof flag === 'string' && flag.trim() !== '') return flag;
  const env = process.env[knob.env];
  return env !== undefined && env.trim() !== '' ? env : undefined;
}

function int(knob: Knob, flags: Record<string, string | boolean | undefined>, fallback: number, min: number): number {
  const value = raw(knob, flags);
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min)
    throw new Error(`--${knob.flag} / ${knob.env}: want an integer ≥ ${min}, got "${value}"`);
  return n;
}

function ints(
  knob: Knob,
  flags: Record<string, string | boolean | undefined>,
  fallback: number[],
  min: number,
): number[] {
  const value = raw(knob, flags);
  if (value === undefined) return fallback;
  const values = value.split(',').map((part) => Number(part.trim()));
  if (!values.length || values.some((v) => !Number.isSafeInteger(v) || v < min)) {
    throw new Error(`--${knob.flag} / ${knob.env}: want comma-separated integers ≥ ${min}, got "${value}"`);
  }
  return [...new Set(values)].sort((a, b) => a - b);
}

function scenarios(flags: Record<string, string | boolean | undefined>): ScenarioName[] {
  const value = raw(KNOBS.only, flags);
  if (value === undefined) return [...DEFAULT_SCENARIOS];
  const names = value.split(',').map((s) => s.trim());
  const unknown = names.filter((s) => !(SCENARIOS as readonly string[]).includes(s));
  if (unknown.length) throw new Error(`--only: unknown scenario ${unknown.join(', ')}; known: ${SCENARIOS.join(', ')}`);
  return SCENARIOS.filter((s) => names.includes(s));
}

export function benchOptions(argv: string[] = process.argv.slice(2)): BenchOptions {
  const { values: flags } = parseArgs({
    args: argv,
    options: Object.fromEntries(Object.values(KNOBS).map((k) => [k.flag, { type: 'string' as const }])),
    strict: true,
    allowPositionals: false,
  });
  const root = path.resolve(__dirname, '..');
  return {
    n: int(KNOBS.n, flags, 5000, 10),
    nSerial: int(KNOBS.nSerial, flags, 5000, 10),
    concurrency: ints(KNOBS.concurrency, flags, [1, 16, 64], 1),
    legacyN: int(KNOBS.legacyN, flags, 500, 1),
    legacyBudgetSeconds: int(KNOBS.legacyBudgetSeconds, flags, 150, 5),
    sizes: ints(KNOBS.sizes, flags, [1000, 10_000, 100_000], 1),
    idleSizes: ints(KNOBS.idleSizes, flags, [0, 10_000, 100_000], 0),
    sizedGrants: int(KNOBS.sizedGrants, flags, 1000, 0),
    sample: int(KNOBS.sample, flags, 100, 1),
    lateKeys: int(KNOBS.lateKeys, flags, 100, 1),
    rawCap: int(KNOBS.rawCap, flags, 20_000, 100),
    writeReps: int(KNOBS.writeReps, flags, 3, 1),
    importRows: int(KNOBS.importRows, flags, 100_000, 10),
    fullSize: int(KNOBS.fullSize, flags, 100_000, 1),
    fullGrants: int(KNOBS.fullGrants, flags, 3000, 10),
    seedConcurrency: int(KNOBS.seedConcurrency, flags, 32, 1),
    fleetKeys: int(KNOBS.fleetKeys, flags, 10_000, 1000),
    minutes: int(KNOBS.minutes, flags, 10, 1),
    only: scenarios(flags),
    resultsDir: path.join(root, 'results'),
    workDir: raw(KNOBS.workDir, flags) ?? path.join(os.tmpdir(), `keyd-bench-${process.pid}`),
  };
}
