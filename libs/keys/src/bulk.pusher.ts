import { Injectable } from '@nestjs/common';
import { Key } from '@keyd/domain';
import { KeyRepository } from '@keyd/store';
import { CoreError } from '@keyd/xray';
import { BulkPushTracker } from './bulk-push.tracker';
import { KeyEvents } from './key.events';
import { KeySyncService } from './key-sync.service';

/** As many core calls in flight as the bench's raw baseline uses. */
export const BULK_PUSH_CONCURRENCY = 64;
const CONFIRM_BATCH = 5000;

export interface BulkPushTotals {
  applied: number;
  failed: number;
}

/** One bulk push: fed batch by batch as they commit, drained by a fixed pool of workers. */
export interface BulkPush {
  add(keys: Key[]): void;
  /** Resolves when every key added has been pushed and confirmed. */
  finish(): Promise<BulkPushTotals>;
}

/**
 * Pushes many keys (an import's, an agent's snapshot) without taking each
 * owner's lock, in parallel, while the next batches are still being
 * committed, and confirms them in a few statements. A key that changed while
 * it was pushed (a grant, revoke or expiry that raced it) is pushed again
 * under its lock, so a stale add never outlives a newer change. Failures stay
 * pending for the reconciler, as any grant's would.
 */
@Injectable()
export class BulkPusher {
  constructor(
    private readonly keys: KeyRepository,
    private readonly sync: KeySyncService,
    private readonly tracker: BulkPushTracker,
    private readonly events: KeyEvents,
  ) {}

  /**
   * Pushes keys whose status another component changed in the database, as
   * KeySyncService.converge does; returns how many failed. Removals go one by
   * one under their owners' locks, since each announces its key's removal
   * (its connections are cut). Adds beyond a pool's worth go in bulk: one by
   * one, each re-read under its lock, a snapshot of 10k keys cost several
   * times as many raw adds.
   */
  async converge(keys: Key[]): Promise<number> {
    const adds = keys.filter((k) => k.status === 'ACTIVE');
    if (adds.length <= BULK_PUSH_CONCURRENCY) return this.sync.converge(keys);
    let failed = await this.sync.converge(keys.filter((k) => k.status !== 'ACTIVE'));
    const push = this.start(() => undefined);
    push.add(adds);
    failed += (await push.finish()).failed;
    this.events.emit('changed', {});
    // The retrier is woken only by this event; it is sent after the push, when a retry is no longer skipped for it.
    if (failed) this.events.emit('pending');
    return failed;
  }

  start(progress: (done: number, total: number) => void): BulkPush {
    const queue: Key[] = [];
    const applied: { id: number; seq: number }[] = [];
    let failed = 0;
    let next = 0;
    let confirmed = 0;
    let finished = false;
    let wake: (() => void) | undefined;
    const confirm = async (upTo: number) => {
      while (confirmed < upTo) {
        const chunk = applied.slice(confirmed, Math.min(upTo, confirmed + CONFIRM_BATCH));
        confirmed += chunk.length;
        await this.keys.markApplied(chunk);
      }
    };
    const worker = async () => {
      for (;;) {
        if (next >= queue.length) {
          if (finished) return;
          await new Promise<void>((resolve) => {
            const previous = wake;
            wake = () => {
              previous?.();
              resolve();
            };
          });
          continue;
        }
        const key = queue[next++];
        try {
          await this.sync.push(key);
          applied.push({ id: key.id, seq: key.changeSeq });
        } catch (e) {
          if (!(e instanceof CoreError)) throw e;
          failed++;
        }
        const done = applied.length + failed;
        if (done % 1000 === 0) progress(done, queue.length);
        // Confirmations are committed as the push goes, so a crash mid-push re-pushes little.
        if (applied.length - confirmed >= CONFIRM_BATCH) await confirm(applied.length);
      }
    };
    const notify = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    const workers = this.tracker.during(() => Promise.all(Array.from({ length: BULK_PUSH_CONCURRENCY }, worker)));
    // A worker's bug surfaces from finish(); until then it must not count as unhandled.
    workers.catch(() => undefined);
    return {
      add: (keys) => {
        queue.push(...keys);
        notify();
      },
      finish: async () => {
        finished = true;
        notify();
        await workers;
        await confirm(applied.length);
        progress(queue.length, queue.length);
        for (const changed of await this.keys.changedSincePush(applied)) {
          if ((await this.sync.reapply(changed.id, changed.ownerId, { force: true })) === 'failed') failed++;
        }
        return { applied: applied.length, failed };
      },
    };
  }
}
