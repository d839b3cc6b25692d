import { promises as fs } from 'fs';
import * as path from 'path';
import { KeydConfig } from '@keyd/config';
import { createLogger } from '@keyd/observability';
import { ConfigFileWriter } from '@keyd/reconcile';
import { ActiveSnapshot, CoreStateRepository, KeyRepository, StoreDatabase } from '@keyd/store';
import { CORE_BIN, baseCoreConfig } from '../../test/support/core.harness';
import { BenchContext, ScenarioResult, SummaryRow, fmt } from '../support/bench.context';
import { CORE_FLAVOR, INBOUND_TAG } from '../support/bench.stack';
import { growthExponent, median, ratio, round } from '../support/latency.stats';

export interface WriteFigures {
  size: number;
  fileBytes: number;
  /** The file; its `.last-good` copy is made by the kernel (copy_file_range), not written by keyd. */
  bytesPerWrite: number;
  /** The first write on the operator's file: read once, compared by digest, written. */
  firstWriteMs: number;
  /** Median ms of a write that changes the file the writer left, without the core's test mode. */
  writeMs: number;
  /** The same with XRAY_BIN set, as the bench runs keyd: the candidate is checked by the core first. */
  checkedWriteMs: number;
  /** A flush that finds the file it left current: what every periodic pass costs with nothing to change. */
  unchangedMs: number;
  /** Reading and printing every page of the active keys on the read-only connection, outside the write queue. */
  snapshotMs: number;
  /** The same bytes written once with fsync, nothing else: the floor of a write. */
  bareMs: number;
  samples: Record<string, number[]>;
}

/**
 * Times libs/reconcile's ConfigFileWriter in this process, on a copy of the
 * seeded database: keyd's logs say that a write happened, not how long it took.
 */
export async function configWriteScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const { options } = ctx;
  const seeds = await ctx.seeder.sizes(options.sizes);
  const log = createLogger('silent', false);
  const out: WriteFigures[] = [];
  for (const size of options.sizes) {
    const seeded = seeds.get(size);
    if (!seeded) continue;
    ctx.progress(`config write ${fmt.size(size)}: ${options.writeReps} writes per variant`);
    const dir = await ctx.scratch(`config-write-${size}`);
    const dbPath = path.join(dir, 'keyd.sqlite');
    await fs.copyFile(seeded.dbPath, dbPath);
    const configPath = path.join(dir, 'core-live.json');
    const baseJson = `${JSON.stringify(baseCoreConfig({ apiPort: 1, vlessPort: 2, inboundTag: INBOUND_TAG }), null, 2)}\n`;
    const db = await StoreDatabase.open(dbPath);
    try {
      const keys = new KeyRepository(db);
      const coreState = new CoreStateRepository(db);
      const writer = (bin: string | undefined) =>
        new ConfigFileWriter(keys, coreState, { core: coreConfig(configPath, bin) } as Pick<KeydConfig, 'core'>, log);
      const plain = writer(undefined);
      const checked = writer(CORE_BIN);
      const samples: Record<string, number[]> = {
        first: [],
        write: [],
        checked: [],
        unchanged: [],
        snapshot: [],
        bare: [],
      };
      // A key leaves the active set and comes back: a change each time, as a revocation or a grant makes.
      const toggled = seeded.keys[0]?.id ?? 0;
      const toggle = (status: 'SUSPENDED' | 'ACTIVE') => keys.write((tx) => tx.setStatus(toggled, status, new Date()));
      await fs.writeFile(configPath, baseJson);
      samples['first']?.push(await timed(() => flushOrThrow(plain)));
      // Each writer in its own phase, so that each finds the file it left, as keyd's single writer does.
      for (const [name, w] of [
        ['write', plain],
        ['checked', checked],
      ] as const) {
        for (let rep = 0; rep < options.writeReps; rep++) {
          for (const status of ['SUSPENDED', 'ACTIVE'] as const) {
            await toggle(status);
            samples[name]?.push(await timed(() => flushOrThrow(w)));
          }
          samples['unchanged']?.push(await timed(() => flushOrThrow(w)));
        }
      }
      for (let rep = 0; rep < options.writeReps; rep++)
        samples['snapshot']?.push(await timed(() => keys.readActive(drain)));
      const text = await fs.readFile(configPath, 'utf8');
      const clients = (JSON.parse(text) as { inbounds: { settings: { clients?: unknown[] } }[] }).inbounds[1]?.settings
        .clients?.length;
      if (clients !== size) throw new Error(`the writer left ${String(clients)} clients in the file, expected ${size}`);
      for (let rep = 0; rep < options.writeReps; rep++) samples['bare']?.push(await bareWrite(dir, text));
      const fileBytes = Buffer.byteLength(text);
      const m = (name: string) => round(median(samples[name] ?? []), 1);
      out.push({
        size,
        fileBytes,
        bytesPerWrite: fileBytes,
        firstWriteMs: m('first'),
        writeMs: m('write'),
        checkedWriteMs: m('checked'),
        unchangedMs: m('unchanged'),
        snapshotMs: m('snapshot'),
        bareMs: m('bare'),
        samples,
      });
    } finally {
      await db.close();
    }
  }

  const rows: SummaryRow[] = out.map((w) => ({
    figure: 'config write ÷ bare write+fsync',
    size: `${fmt.size(w.size)} keys`,
    ratio: fmt.ratio(ratio(w.writeMs, w.bareMs)),
    keyd:
      `${fmt.ms(w.writeMs)} (${fmt.ms(w.checkedWriteMs)} with ${path.basename(CORE_BIN)} -test), ` +
      `${fmt.bytes(w.bytesPerWrite)}; first write on the operator's file ${fmt.ms(w.firstWriteMs)}; ` +
      `no-op ${fmt.ms(w.unchangedMs)}`,
    reference: `bare ${fmt.ms(w.bareMs)}; key snapshot ${fmt.ms(w.snapshotMs)}`,
  }));
  const notes: string[] = [];
  const first = out[0];
  const last = out[out.length - 1];
  if (first && last && first !== last) {
    for (const [label, key] of [
      ['write', 'writeMs'],
      ['checked write', 'checkedWriteMs'],
      ['no-op flush', 'unchangedMs'],
      ['key snapshot', 'snapshotMs'],
    ] as const) {
      const k = growthExponent(first.size, first[key], last.size, last[key]);
      notes.push(
        `${label}: ×${fmt.ratio(last[key] / first[key])} from ${fmt.size(first.size)} to ${fmt.size(last.size)} keys ` +
          `(exponent ${k ?? 'n/a'})`,
      );
    }
  }
  notes.push(
    'a write streams the key snapshot from the read-only connection, outside the write queue, so grants never ' +
      'wait for it; its .last-good copy is a kernel copy without fsync.',
  );
  return { name: 'config-write', rows, notes, data: { writes: out } };
}

function coreConfig(configPath: string, bin: string | undefined): KeydConfig['core'] {
  return {
    apiAddr: '127.0.0.1:1',
    flavor: CORE_FLAVOR,
    inboundTag: INBOUND_TAG,
    flow: '',
    userLevel: 0,
    callTimeoutMs: 3000,
    probeIntervalMs: 2000,
    configPath,
    bin,
    binEnv: {},
    configWriteWindowMs: 1000,
  };
}

async function flushOrThrow(writer: ConfigFileWriter): Promise<void> {
  await writer.flush();
  const error = writer.status().lastError;
  if (error) throw new Error(`config write failed: ${error}`);
}

async function drain(snapshot: ActiveSnapshot): Promise<void> {
  for await (const page of snapshot.printed({ indent: '        ', level: 0 }))
    if (!page.count) throw new Error('an empty page');
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function bareWrite(dir: string, text: string): Promise<number> {
  return timed(async () => {
    const handle = await fs.open(path.join(dir, 'bare.json'), 'w');
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
  });
}
