import { EventEmitter } from 'node:events';
import { Inject, Injectable } from '@nestjs/common';
import { KEYD_CONFIG, KeydConfig } from '@keyd/config';
import { Key } from '@keyd/domain';
import { KeySyncService } from '@keyd/keys';
import { AppLogger, LOGGER } from '@keyd/observability';
import { KeyRepository } from '@keyd/store';
import { CoreError, CoreUser, XrayClient } from '@keyd/xray';
import { CoreMonitor } from './core.monitor';
import { CoreRecovery } from './core-recovery.service';
import { KeyExpirer } from './key-expirer';
import { emptyReport, ReconcileReport } from './reconcile.types';

const PENDING_PAGE = 1000;

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
    private readonly core: XrayClient,
    private readonly keys: KeyRepository,
    private readonly sync: KeySyncService,
    private readonly monitor: CoreMonitor,
    private readonly recovery: CoreRecovery,
    private readonly expirer: KeyExpirer,
    @Inject(KEYD_CONFIG) private readonly config: Pick<KeydConfig, 'core'>,
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
      await this.countPending(report);
      if (report.coreReachable) await this.countRepairs(report);
    } else {
      const e = await this.expirer.expireDue();
      report.expired = e.expired;
      report.failed += e.failed;
      if (report.coreReachable) await this.repairCore(report, reason);
      await this.pushPending(report);
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
    await this.pushPending(report);
    report.durationMs = Date.now() - started;
    return report;
  }

  private async repairCore(report: ReconcileReport, reason: string): Promise<void> {
    try {
      const live = await this.core.listUsers(this.config.core.inboundTag);
      if (live) {
        await this.diffAgainstLive(
          live.map((u) => u.email),
          report,
        );
        this.recoveryNeeded = false;
        return;
      }
    } catch (e) {
      if (!(e instanceof CoreError)) throw e;
      report.failed++;
      return;
    }
    if (!this.recoveryNeeded) return;
    const r = await this.recovery.recover(reason);
    report.added += r.added;
    report.removed += r.removed;
    report.failed += r.failed;
    if (r.mode !== 'unreachable' && r.failed === 0) this.recoveryNeeded = false;
  }

  /** Cores that can list their users are compared both ways, including users keyd never issued. */
  private async diffAgainstLive(liveEmails: string[], report: ReconcileReport): Promise<void> {
    const { missing, extra } = await this.driftFrom(liveEmails);
    for (const key of missing) {
      this.log.warn(
        { event: 'drift', owner: key.ownerId, email: key.email, wrong: 'missing from core', done: 'add' },
        'drift',
      );
      const outcome = await this.sync.reapply(key.id, key.ownerId, { force: true });
      if (outcome === 'failed') report.failed++;
      else report.added++;
    }
    for (const { email, key } of extra) {
      this.log.warn(
        {
          event: 'drift',
          owner: key?.ownerId,
          email,
          wrong: key ? `core holds a ${key.status} key` : 'unknown to the database',
          done: 'remove',
        },
        'drift',
      );
      if (key) {
        // Through the key's own bookkeeping: a removal left pending would otherwise be pushed and counted again.
        const outcome = await this.sync.reapply(key.id, key.ownerId, { force: true });
        if (outcome === 'failed') report.failed++;
        else report.removed++;
        continue;
      }
      try {
        await this.core.removeUser(this.config.core.inboundTag, email);
        report.unknownRemoved++;
      } catch (e) {
        if (!(e instanceof CoreError)) throw e;
        report.failed++;
      }
    }
  }

  /** Active keys the core lacks, and users the core holds that should not be there (known or not). */
  private async driftFrom(liveEmails: string[]): Promise<{ missing: Key[]; extra: { email: string; key?: Key }[] }> {
    const live = new Set(liveEmails.map((e) => e.toLowerCase()));
    const active: Key[] = [];
    for (let after = 0; ;) {
      const page = await this.keys.activeKeys(after, 5000);
      if (!page.length) break;
      active.push(...page);
      after = page[page.length - 1].id;
    }
    const wanted = new Set(active.map((k) => k.email.toLowerCase()));
    const extra = liveEmails.filter((e) => !wanted.has(e.toLowerCase()));
    const known = new Map((await this.keys.findByEmails(extra)).map((k) => [k.email.toLowerCase(), k]));
    return {
      missing: active.filter((k) => !live.has(k.email.toLowerCase())),
      extra: extra.map((email) => ({ email, key: known.get(email.toLowerCase()) })),
    };
  }

  /**
   * What repairCore would change, for a dry run. Pending keys are already
   * counted, and a real pass pushes each of them once, so only provisioned
   * keys add to the drift found here.
   */
  private async countRepairs(report: ReconcileReport): Promise<void> {
    let live: CoreUser[] | null;
    try {
      live = await this.core.listUsers(this.config.core.inboundTag);
    } catch (e) {
      if (!(e instanceof CoreError)) throw e;
      return;
    }
    if (!live) {
      // Without a listing, a suspected restart may have lost every active key.
      if (report.coreRestartDetected) report.added += (await this.keys.countByStatus()).ACTIVE;
      return;
    }
    const { missing, extra } = await this.driftFrom(live.map((u) => u.email));
    report.added += missing.filter((k) => k.provisioned).length;
    for (const { key } of extra) {
      if (!key) report.unknownRemoved++;
      else if (key.provisioned) report.removed++;
    }
  }

  private async countPending(report: ReconcileReport): Promise<void> {
    for (const key of await this.keys.pending(Number.MAX_SAFE_INTEGER)) {
      if (key.status === 'ACTIVE') report.added++;
      else report.removed++;
    }
  }

  private async pushPending(report: ReconcileReport): Promise<void> {
    let after = 0;
    for (;;) {
      const page = (await this.keys.pending(PENDING_PAGE)).filter((k) => k.id > after);
      if (!page.length) return;
      for (const key of page) {
        const outcome = await this.sync.reapply(key.id, key.ownerId);
        if (outcome === 'failed') report.failed++;
        else if (outcome === 'applied') report[key.status === 'ACTIVE' ? 'added' : 'removed']++;
      }
      after = page[page.length - 1].id;
      if (report.failed) return;
    }
  }
}
