import { promises as fs } from 'node:fs';
import { MultiBar, Presets, SingleBar } from 'cli-progress';
import { Command, Option } from 'commander';
import { CliContext } from '../cli.context';
import { CliError, EXIT } from '../exit.codes';
import { Bind, positiveInt } from '../key.commands';
import { toJson } from '../output.format';
import { WireStatus } from '../wire.types';
import { importReportText, WireImportReport } from './import.report';
import { LegacyClient, readLegacyClients } from './legacy-config.reader';
import { OwnerRow, readOwners } from './owners.reader';

interface ImportCliOptions {
  config: string;
  owners: string;
  inbound?: string;
  orphans: 'skip' | 'import' | 'revoke';
  orphanDays: number;
  replace?: boolean;
  skipInvalid?: boolean;
  dryRun?: boolean;
}

interface Progress {
  phase: string;
  done: number;
  total: number;
}

/** Rows per stream message: well under the daemon's 1 MiB message limit. */
const CHUNK = 1000;
const PHASES: Record<string, string> = { written: 'writing keys', provisioned: 'adding to the core' };

async function readFile(path: string, flag: string): Promise<string> {
  try {
    return await fs.readFile(path, 'utf8');
  } catch (e) {
    throw new CliError(`cannot read ${flag} ${path}: ${(e as Error).message}`, EXIT.BAD_ARGUMENTS);
  }
}

/** Streams the rows to ImportKeys and answers the report; progress messages go to onProgress. */
function stream(
  ctx: CliContext,
  o: ImportCliOptions,
  rows: OwnerRow[],
  clients: LegacyClient[],
  onProgress: (p: Progress) => void,
): Promise<WireImportReport> {
  return new Promise((resolve, reject) => {
    const call = ctx.keyd().stream('ImportKeys');
    let report: WireImportReport | undefined;
    call.on('data', (m: { progress?: Progress | null; report?: WireImportReport | null }) => {
      if (m.report) report = m.report;
      else if (m.progress) onProgress(m.progress);
    });
    call.on('error', reject);
    call.on('status', (s: { code: number }) => {
      if (s.code !== 0) return;
      if (report) resolve(report);
      else reject(new CliError('the daemon ended the import without a report'));
    });
    const messages: unknown[] = [
      {
        options: {
          dry_run: o.dryRun === true,
          orphans: `ORPHANS_${o.orphans.toUpperCase()}`,
          replace: o.replace === true,
          skip_invalid: o.skipInvalid === true,
          orphan_duration_seconds: o.orphanDays * 86_400,
        },
      },
    ];
    for (let i = 0; i < rows.length; i += CHUNK) messages.push({ owners: rows.slice(i, i + CHUNK) });
    for (let i = 0; i < clients.length; i += CHUNK) messages.push({ config_clients: clients.slice(i, i + CHUNK) });
    let next = 0;
    // Honours the stream's back-pressure instead of buffering every message at once.
    const pump = () => {
      while (next < messages.length) if (!call.write(messages[next++])) return void call.once('drain', pump);
      call.end();
    };
    pump();
  });
}

export function importCommand(program: Command, bind: Bind): void {
  program
    .command('import')
    .description("adopt the keys of the old setup, with their UUIDs, through the daemon's ImportKeys")
    .requiredOption('--config <config.json>', "the old core config; its inbound's clients are read")
    .requiredOption('--owners <file>', 'CSV with a header, or JSON Lines: owner_id, uuid, subscription_end, …')
    .option(
      '--inbound <tag>',
      "the inbound to read (default: the daemon's XRAY_INBOUND_TAG); auto: the first VLESS one",
    )
    .addOption(
      new Option('--orphans <policy>', 'config clients with no owner row: skip, import (as legacy:<uuid>) or revoke')
        .choices(['skip', 'import', 'revoke'])
        .default('skip'),
    )
    .option('--orphan-days <n>', 'how long orphans imported with --orphans import stay active', positiveInt, 30)
    .option('--replace', 'an owner with a live key in keyd gets the imported key instead')
    .option('--skip-invalid', 'import the valid rows and list the invalid ones, instead of refusing the file')
    .option('--dry-run', 'print the full report, write nothing')
    .action(
      bind(async (ctx, opts) => {
        const o = opts as ImportCliOptions;
        const [configText, ownersText] = await Promise.all([
          readFile(o.config, '--config'),
          readFile(o.owners, '--owners'),
        ]);
        const wanted = o.inbound ?? (await ctx.keyd().call<WireStatus>('GetStatus', {})).core.inbound_tag;
        const legacy = readLegacyClients(configText, wanted);
        const rows = readOwners(ownersText);
        // One bar per phase: keys are added to the core while later batches are still being written.
        const bars =
          ctx.io.interactive && !ctx.json
            ? new MultiBar(
                { format: '{phase} [{bar}] {value}/{total}', stream: process.stderr, hideCursor: true },
                Presets.shades_classic,
              )
            : undefined;
        const shown = new Map<string, SingleBar>();
        const report = await stream(ctx, o, rows, legacy.clients, (p) => {
          if (!bars) return;
          const bar = shown.get(p.phase) ?? bars.create(p.total, 0, { phase: (PHASES[p.phase] ?? p.phase).padEnd(18) });
          shown.set(p.phase, bar);
          bar.setTotal(p.total);
          bar.update(p.done);
        }).finally(() => bars?.stop());
        ctx.print(toJson(report), () => importReportText(report, legacy.tag));
      }),
    );
}
