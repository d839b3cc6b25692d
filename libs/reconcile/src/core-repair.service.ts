import { Inject, Injectable } from '@nestjs/common';
import { KEYD_CONFIG, KeydConfig } from '@keyd/config';
import { KeyRepository } from '@keyd/store';
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
    private readonly keys: KeyRepository,
    @Inject(KEYD_CONFIG) private readonly config: Pick<KeydConfig, 'core'>,
  ) {}

  /** Returns whether recovery is still needed afterwards. */
  async repair(report: ReconcileReport, reason: string, recoveryNeeded: boolean): Promise<boolean> {
    let live: CoreUser[] | null;
    try {
      live = await this.core.listUsers(this.config.core.inboundTag);
    } catch (e) {
      if (!(e instanceof CoreError)) throw e;
      report.failed++;
      return recoveryNeeded;
    }
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
    let live: CoreUser[] | null;
    try {
      live = await this.core.listUsers(this.config.core.inboundTag);
    } catch (e) {
      if (!(e instanceof CoreError)) throw e;
      return;
    }
    if (live)
      return this.drift.count(
        live.map((u) => u.email),
        report,
      );
    // Without a listing, a suspected restart may have lost every active key.
    if (report.coreRestartDetected) report.added += (await this.keys.countByStatus()).ACTIVE;
  }
}
