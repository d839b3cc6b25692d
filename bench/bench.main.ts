import 'reflect-metadata';
import { existsSync } from 'fs';
import * as path from 'path';
import { configWriteScenario } from './scenarios/config-write.scenario';
import { fleetScenario } from './scenarios/fleet.scenario';
import { fullSizeScenario } from './scenarios/full-size.scenario';
import { grantsScenario } from './scenarios/grants.scenario';
import { importScenario } from './scenarios/import.scenario';
import { keysetsScenario } from './scenarios/keysets.scenario';
import { legacyScenario } from './scenarios/legacy.scenario';
import { soakScenario } from './scenarios/soak.scenario';
import { usagePollScenario } from './scenarios/usage-poll.scenario';
import {
  Scenario,
  ScenarioRecord,
  formatTable,
  machineInfo,
  progress,
  runScenario,
  withBenchContext,
  writeResult,
} from './support/bench.context';
import { ScenarioName, benchOptions, usage } from './support/bench.options';

/** Legacy reads keyd's grant figures, so grants run first; the seeded key sets are shared by the last two. */
const SCENARIOS: Record<ScenarioName, Scenario> = {
  grants: grantsScenario,
  legacy: legacyScenario,
  keysets: keysetsScenario,
  'config-write': configWriteScenario,
  'usage-poll': usagePollScenario,
  import: importScenario,
  'full-size': fullSizeScenario,
  soak: soakScenario,
  fleet: fleetScenario,
};

const MAIN = path.resolve(__dirname, '../dist/apps/keyd/src/main.js');

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(`${usage()}\n`);
    return;
  }
  const options = benchOptions();
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first (npm run bench does)`);
  const started = Date.now();
  const machine = machineInfo();
  progress(`${machine.core} (${machine.coreBin}), ${machine.cpus} CPUs, load ${machine.loadavg.join(' ')}`);
  const records = await withBenchContext(options, async (ctx) => {
    const out: ScenarioRecord[] = [];
    for (const name of options.only) out.push(...(await runScenario(ctx, name, SCENARIOS[name])));
    return out;
  });
  const seconds = Math.round((Date.now() - started) / 100) / 10;
  const rows = records.flatMap((r) => r.rows);
  const timings = [...new Map(records.map((r) => [r.scenario, r.seconds])).entries()];
  await writeResult(options.resultsDir, 'summary', {
    wallSeconds: seconds,
    machine,
    options,
    scenarios: timings.map(([name, secs]) => ({
      name,
      seconds: secs,
      results: records.filter((r) => r.scenario === name).map((r) => r.name),
    })),
    rows,
    notes: Object.fromEntries(records.map((r) => [r.name, r.notes])),
  });
  const lines = [
    '',
    formatTable(rows),
    '',
    ...records.flatMap((r) => r.notes.map((n) => `- ${r.name}: ${n}`)),
    '',
    `bench wall time ${seconds} s (${timings.map(([name, secs]) => `${name} ${secs} s`).join(', ')}); ` +
      `results in ${path.relative(process.cwd(), options.resultsDir) || '.'}/`,
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
