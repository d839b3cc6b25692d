import { Injectable } from '@nestjs/common';
import { Key } from '@keyd/domain';
import { KeySyncService } from '@keyd/keys';
import { KeyRepository } from '@keyd/store';
import { CoreError } from '@keyd/xray';

export interface PushTotals {
  added: number;
  removed: number;
  failed: number;
}

const CONCURRENCY = 32;

/**
 * Pushes many keys to the core at once without taking each owner's lock: the
 * keys are read once, pushed in parallel, and any key that changed meanwhile is
 * pushed again under its lock, so a stale push never outlives a newer change.
 * That second push is forced: a revocation that landed during the bulk push
 * has its removal confirmed already, and the stale add may have come after it.
 */
@Injectable()
export class KeyPusher {
  constructor(
    private readonly keys: KeyRepository,
    private readonly sync: KeySyncService,
  ) {}

  async pushAll(batch: Key[], snapshotSeq: number): Promise<PushTotals> {
    const totals: PushTotals = { added: 0, removed: 0, failed: 0 };
    const applied: { id: number; seq: number }[] = [];
    let next = 0;
    const worker = async () => {
      while (next < batch.length) {
        const key = batch[next++];
        try {
          const outcome = await this.sync.push(key);
          applied.push({ id: key.id, seq: key.changeSeq });
          if (outcome === 'added') totals.added++;
          else if (outcome === 'removed') totals.removed++;
        } catch (e) {
          if (!(e instanceof CoreError)) throw e;
          totals.failed++;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, batch.length) }, worker));
    await this.keys.markApplied(applied);
    for (const changed of await this.keys.changedSince(snapshotSeq)) {
      if ((await this.sync.reapply(changed.id, changed.ownerId, { force: true })) === 'failed') totals.failed++;
    }
    return totals;
  }
}
