import { Injectable } from '@nestjs/common';
import { Key } from '@keyd/domain';
import { KeyRepository } from '@keyd/store';
import { CoreError } from '@keyd/xray';
import { KeySyncService } from './key-sync.service';

/** As many core calls in flight as the bench's raw baseline uses. */
export const IMPORT_PUSH_CONCURRENCY = 64;
const CONFIRM_BATCH = 5000;

export interface ImportPushTotals {
  applied: number;
  failed: number;
}

/**
 * Pushes the imported keys without taking each owner's lock, in parallel,
 * then confirms them in a few statements. A key that changed while it was
 * pushed (a grant or revoke that raced the import) is pushed again under its
 * lock, so a stale add never outlives a newer change. Failures stay pending
 * for the reconciler, as any grant's would.
 */
@Injectable()
export class ImportPusher {
  constructor(
    private readonly keys: KeyRepository,
    private readonly sync: KeySyncService,
  ) {}

  async push(batch: Key[], progress: (done: number) => void): Promise<ImportPushTotals> {
    const applied: { id: number; seq: number }[] = [];
    let failed = 0;
    let next = 0;
    let confirmed = 0;
    const confirm = async (upTo: number) => {
      while (confirmed < upTo) {
        const chunk = applied.slice(confirmed, Math.min(upTo, confirmed + CONFIRM_BATCH));
        confirmed += chunk.length;
        await this.keys.markApplied(chunk);
      }
    };
    const worker = async () => {
      while (next < batch.length) {
        const key = batch[next++];
        try {
          await this.sync.push(key);
          applied.push({ id: key.id, seq: key.changeSeq });
        } catch (e) {
          if (!(e instanceof CoreError)) throw e;
          failed++;
        }
        const done = applied.length + failed;
        if (done % 1000 === 0) progress(done);
        // Confirmations are committed as the push goes, so a crash mid-import re-pushes little.
        if (applied.length - confirmed >= CONFIRM_BATCH) await confirm(applied.length);
      }
    };
    await Promise.all(Array.from({ length: Math.min(IMPORT_PUSH_CONCURRENCY, batch.length) }, worker));
    await confirm(applied.length);
    progress(batch.length);
    for (const changed of await this.keys.changedSincePush(applied)) {
      if ((await this.sync.reapply(changed.id, changed.ownerId, { force: true })) === 'failed') failed++;
    }
    return { applied: applied.length, failed };
  }
}
