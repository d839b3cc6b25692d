import { EventEmitter } from 'node:events';
import { Inject, Injectable } from '@nestjs/common';
import { AppLogger, LOGGER } from '@keyd/observability';
import { CoreMonitor } from './core.monitor';
import { CoreRepair } from './core-repair.service';
import { KeyExpirer } from './key.expirer';
import { PendingChanges } from './pending.changes';
import { emptyReport, ReconcileReport } from './reconcile.types';

/**
 * One reconciliation pass converges the core to the database: expiries, the
 * changes still pending, and the recovery of a core that lost its memory.
 * Passes never overlap; callers that arrive during a pass wait for their own.
 */
@Injectable()
export class ReconcileService extends EventEmitter<{ pass: [ReconcileReport, string] }> {
  private tail: Promise<unknown> = Promise.resolve();
  private recoveryNeeded = true;
  private last: (ReconcileReport & { finishedAt: Date }) | null = null;

  constructor(
    private readonly monitor: CoreMonitor,
    private readonly expirer: KeyExpirer,
    private readonly repair: CoreRepair,
    private readonly pending: PendingChanges,
    @Inject(LOGGER) private readonly log: AppLogger,
  ) {
    super();
  }

  get lastPass() {
    return this.last;
  }

  /** The core may have lost its users; the next pass verifies and repairs. */
  markRecoveryNeeded(): void {
    this.recoveryNeeded = true;
  }

  run(opts: { dryRun?: boolean; reason: string }): Promise<ReconcileReport> {
    const result = this.tail.then(() => this.pass(opts.dryRun === true, opts.reason));
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Resolves when the pass in flight, if any, has finished. */
  drain(): Promise<void> {
    return this.tail.then(() => undefined);
  }

  /** Retries only what is pending, without the rest of a pass. */
  retryPending(): Promise<ReconcileReport> {
    const result = this.tail.then(() => this.pendingOnly());
    this.tail = result.catch(() => undefined);
    return result;
  }

  private async pass(dryRun: boolean, reason: string): Promise<ReconcileReport> {
    const started = Date.now();
    const report = emptyReport(dryRun);
    const seen = dryRun ? await this.monitor.peek() : await this.monitor.probe();
    const suspect = seen === 'restarted' || seen === 'reconnected';
    if (suspect && !dryRun) this.recoveryNeeded = true;
    report.coreReachable = seen !== 'down';
    report.coreRestartDetected = this.recoveryNeeded || suspect;

    if (dryRun) {
      report.expired = await this.expirer.countDue();
      await this.pending.count(report);
      if (report.coreReachable) await this.repair.count(report);
    } else {
      const e = await this.expirer.expireDue();
      report.expired = e.expired;
      report.failed += e.failed;
      if (report.coreReachable) this.recoveryNeeded = await this.repair.repair(report, reason, this.recoveryNeeded);
      await this.pending.push(report);
    }
    report.durationMs = Date.now() - started;
    if (!dryRun) this.last = { ...report, finishedAt: new Date() };
    this.emit('pass', report, reason);
    this.log.info({ event: 'reconcile', reason, ...report }, 'reconcile pass');
    return report;
  }

  private async pendingOnly(): Promise<ReconcileReport> {
    const report = emptyReport(false);
    const started = Date.now();
    await this.pending.push(report);
    report.durationMs = Date.now() - started;
    return report;
  }
}
