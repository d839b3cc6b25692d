import { Inject, Injectable } from '@nestjs/common';
import { KEYD_CONFIG, KeydConfig } from '@keyd/config';
import { CoreReads } from '@keyd/observability';
import { CoreError, CoreUser, XrayClient } from '@keyd/xray';
import { CoreRecovery } from './core-recovery.service';
import { LiveDrift } from './live-drift.service';
import { ReconcileReport } from './reconcile.types';

/**
 * Makes the core's user set match the database: by listing it where the core
 * can, otherwise by recovery after a suspected restart.
 */
@Injectable()
export class CoreRepair {
  constructor(
    private readonly core: XrayClient,
    private readonly drift: LiveDrift,
    private readonly recovery: CoreRecovery,
    private readonly reads: CoreReads,
    @Inject(KEYD_CONFIG) private readonly config: Pick<KeydConfig, 'core'>,
  ) {}

  /**
   * Returns whether recovery is still needed afterwards. A listing that fails
   * (too large, a deadline, anything but a core that cannot list) falls back to
   * recovery, as on a core without listings: it never skips it.
   */
  async repair(report: ReconcileReport, reason: string, recoveryNeeded: boolean): Promise<boolean> {
    const live = await this.listing(report);
    if (live) {
      await this.drift.repair(
        live.map((u) => u.email),
        report,
      );
      return false;
    }
    if (!recoveryNeeded) return false;
    const r = await this.recovery.recover(reason);
    report.added += r.added;
    report.removed += r.removed;
    report.failed += r.failed;
    return r.mode === 'unreachable' || r.failed > 0;
  }

  /** What repair would change, without changing it. */
  async count(report: ReconcileReport): Promise<void> {
    const live = await this.listing(null);
    if (live)
      return this.drift.count(
        live.map((u) => u.email),
        report,
      );
    // Without a listing, a suspected restart may have lost every active key.
    if (report.coreRestartDetected) report.added += await this.recovery.countFullPush();
  }

  /** The core's users, or null when it cannot list them or the listing failed. */
  private async listing(report: ReconcileReport | null): Promise<CoreUser[] | null> {
    try {
      const live = await this.core.listUsers(this.config.core.inboundTag);
      if (live) this.reads.succeeded('user_listing');
      return live;
    } catch (e) {
      if (!(e instanceof CoreError)) throw e;
      this.reads.failed('user_listing', e.message);
      if (report) report.failed++;
      return null;
    }
  }
}
