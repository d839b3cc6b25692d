import { EventEmitter } from 'node:events';
import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, Clock } from '@keyd/domain';
import { KeySyncService, KeyEvents } from '@keyd/keys';
import { AppLogger, LOGGER } from '@keyd/observability';
import { KeyRepository } from '@keyd/store';

const PAGE = 500;

/** Marks active and suspended keys past their end as EXPIRED and removes them from the core. */
@Injectable()
export class KeyExpirer extends EventEmitter<{ expired: [{ lateMs: number }] }> {
  constructor(
    private readonly keys: KeyRepository,
    private readonly sync: KeySyncService,
    private readonly events: KeyEvents,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) private readonly log: AppLogger,
  ) {
    super();
  }

  async countDue(): Promise<number> {
    return (await this.keys.dueForExpiry(this.clock.now(), Number.MAX_SAFE_INTEGER)).length;
  }

  /** Returns how many keys expired; removals that fail stay pending for the retrier. */
  async expireDue(): Promise<{ expired: number; failed: number }> {
    let expired = 0;
    let failed = 0;
    for (;;) {
      const now = this.clock.now();
      const due = await this.keys.dueForExpiry(now, PAGE);
      if (!due.length) break;
      await Promise.all(
        due.map((candidate) =>
          this.sync.exclusive(candidate.ownerId, async () => {
            // Re-checked under the lock: a renewal may have moved the end meanwhile.
            const key = await this.keys.write(async (tx) => {
              const fresh = await tx.getKey(candidate.id);
              return (fresh.status === 'ACTIVE' || fresh.status === 'SUSPENDED') && fresh.subscriptionEnd <= now
                ? tx.setStatus(fresh.id, 'EXPIRED', now)
                : null;
            });
            if (!key) return;
            expired++;
            const lateMs = now.getTime() - key.subscriptionEnd.getTime();
            this.emit('expired', { lateMs });
            const outcome = await this.sync.applyLocked(key);
            if (outcome === 'failed') failed++;
            this.log.info(
              {
                event: 'expire',
                owner: key.ownerId,
                key_id: key.id,
                email: key.email,
                late_ms: lateMs,
                provisioned: outcome === 'applied',
              },
              'key expired',
            );
          }),
        ),
      );
      if (due.length < PAGE) break;
    }
    if (expired) this.events.emit('changed', {});
    return { expired, failed };
  }
}
