import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, Clock, Key } from '@keyd/domain';
import { AppLogger, LOGGER } from '@keyd/observability';
import { ImportLookups, KeyRepository, KeyWriter } from '@keyd/store';
import { ImportBatchPlan, ImportPlanner } from './import.planner';
import { BulkPusher } from './bulk.pusher';
import {
  emptyImportReport,
  ImportConfigClient,
  ImportOptions,
  ImportProgress,
  ImportReport,
  ImportRowInput,
} from './import.types';
import { ImportRefusedError, validateClients, validateRows } from './import.validation';
import { KeyEvents } from './key.events';
import { KeyFactory } from './key.factory';

/** Rows per transaction: a crash loses at most one uncommitted batch, and grants never wait long behind one. */
export const IMPORT_BATCH = 2000;

export interface ImportCommand {
  rows: ImportRowInput[];
  clients: ImportConfigClient[];
  options: ImportOptions;
}

interface Batch {
  size: number;
  plan: (db: ImportLookups) => Promise<ImportBatchPlan>;
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Adopts keys issued before keyd, with their UUIDs: validates the whole file
 * first (a bad file changes nothing), commits the keys in batches, then
 * pushes them to the core as any grant would be. Running it again changes
 * nothing, and finishes the pushes of a run that was interrupted.
 */
@Injectable()
export class ImportService {
  constructor(
    private readonly keys: KeyRepository,
    private readonly factory: KeyFactory,
    private readonly pusher: BulkPusher,
    private readonly events: KeyEvents,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) private readonly log: AppLogger,
  ) {}

  async run(cmd: ImportCommand, progress: ImportProgress = () => undefined): Promise<ImportReport> {
    const started = Date.now();
    const now = this.clock.now();
    const { valid, invalid } = validateRows(cmd.rows, now);
    const clients = validateClients(cmd.clients);
    if (invalid.length && !cmd.options.skipInvalid) throw new ImportRefusedError(invalid);
    const report = emptyImportReport(cmd.options.dryRun, cmd.rows.length, cmd.clients.length);
    report.invalid = [...invalid, ...clients.invalid];
    const config = new Map(clients.clients.map((c) => [c.uuid, c.email]));
    // A row speaks for its UUID even when it was skipped as invalid: only clients no row names are orphans.
    const named = new Set(cmd.rows.map((r) => r.uuid.trim().toLowerCase()));
    const orphans = clients.clients.filter((c) => !named.has(c.uuid));
    const planner = new ImportPlanner(this.factory, cmd.options, config, report, now);

    const batches: Batch[] = [
      ...chunks(valid, IMPORT_BATCH).map((rows) => ({
        size: rows.length,
        plan: (db: ImportLookups) => planner.planRows(rows, db),
      })),
      ...chunks(orphans, IMPORT_BATCH).map((c) => ({
        size: c.length,
        plan: (db: ImportLookups) => planner.planOrphans(c, db),
      })),
    ];
    const total = valid.length + orphans.length;
    // Each batch is pushed while the next one commits; the config file is asked for once the core has
    // them all, since its write of every active key would otherwise compete with the pushes for the CPU.
    const push = cmd.options.dryRun ? undefined : this.pusher.start((n, of) => progress('provisioned', n, of));
    let done = 0;
    let writtenMs = 0;
    try {
      for (const batch of batches) {
        if (push) push.add(await this.keys.write((tx) => this.writeBatch(tx, batch, now)));
        else await batch.plan(this.keys.lookups());
        done += batch.size;
        progress('written', done, total);
      }
      writtenMs = Date.now() - started;
    } finally {
      // A failed batch still lets the pushes of the committed ones finish.
      const pushed = await push?.finish();
      if (pushed) {
        report.provisioned = pushed.applied;
        report.provisionFailed = pushed.failed;
        if (pushed.failed) this.events.emit('pending');
      }
    }
    report.changes =
      report.importedActive + report.importedExpired + report.replaced + report.orphansImported + report.orphansRevoked;
    if (report.changes || report.provisioned) this.events.emit('changed', {});
    report.durationMs = Date.now() - started;
    this.log.info(
      {
        event: 'import',
        dry_run: report.dryRun,
        rows: report.rows,
        imported_active: report.importedActive,
        imported_expired: report.importedExpired,
        healed: report.healed,
        unchanged: report.unchanged,
        conflicts: report.conflicts.length,
        orphans: report.orphans.length,
        invalid: report.invalid.length,
        provisioned: report.provisioned,
        provision_failed: report.provisionFailed,
        written_ms: writtenMs,
        duration_ms: report.durationMs,
      },
      'import',
    );
    return report;
  }

  /** One batch, decided and written in one transaction; answers the keys the core must still be told about. */
  private async writeBatch(tx: KeyWriter, batch: Batch, now: Date): Promise<Key[]> {
    const p = await batch.plan(tx);
    const revoked: Key[] = [];
    for (const k of p.revokes) revoked.push(await tx.update(k.id, { status: 'REVOKED', subscriptionToken: null }, now));
    const inserted = await tx.insertMany(p.inserts, now);
    return [...revoked, ...inserted.filter((k) => !k.provisioned), ...p.pending];
  }
}
