import { Injectable } from '@nestjs/common';
import { BulkPushTracker, KeySyncService } from '@keyd/keys';
import { KeyRepository } from '@keyd/store';
import { ReconcileReport } from './reconcile.types';

const PENDING_PAGE = 1000;

/** Keys whose latest change the core has not confirmed: counted for dry runs, pushed otherwise. */
@Injectable()
export class PendingChanges {
  constructor(
    private readonly keys: KeyRepository,
    private readonly sync: KeySyncService,
    private readonly bulk: BulkPushTracker,
  ) {}

  async count(report: ReconcileReport): Promise<void> {
    for (let after = 0; ;) {
      const page = await this.keys.pending(PENDING_PAGE, after);
      if (!page.length) return;
      for (const key of page) {
        if (key.status === 'ACTIVE') report.added++;
        else report.removed++;
      }
      after = page[page.length - 1].id;
    }
  }

  /** Stops at the first page with a failure: the core is likely away, and the retrier takes over. */
  async push(report: ReconcileReport): Promise<void> {
    // An import pushing its keys confirms them itself; what it leaves pending, a later pass takes.
    if (this.bulk.active) return;
    for (let after = 0; ;) {
      const page = await this.keys.pending(PENDING_PAGE, after);
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
