import { Inject, Injectable } from '@nestjs/common';
import { KEYD_CONFIG, KeydConfig } from '@keyd/config';
import { Key } from '@keyd/domain';
import { LOGGER, AppLogger } from '@keyd/observability';
import { KeyRepository } from '@keyd/store';
import { AddUserOutcome, CoreError, RemoveUserOutcome, XrayClient } from '@keyd/xray';
import { KeyEvents } from './key.events';
import { OwnerLocks } from './owner.locks';

export type SyncOutcome = 'applied' | 'failed';

/**
 * Makes the core hold what the database says for one key: present when ACTIVE,
 * absent otherwise. Core failures are recorded as pending, never thrown to the
 * request path; the reconciler retries them.
 */
@Injectable()
export class KeySyncService {
  constructor(
    private readonly core: XrayClient,
    private readonly keys: KeyRepository,
    private readonly locks: OwnerLocks,
    private readonly events: KeyEvents,
    @Inject(LOGGER) private readonly log: AppLogger,
    @Inject(KEYD_CONFIG) private readonly config: Pick<KeydConfig, 'core'>,
  ) {}

  /** Runs fn with the owner's lock held: nothing else changes or pushes that owner's keys meanwhile. */
  exclusive<T>(ownerId: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(ownerId, fn);
  }

  /**
   * Pushes keys whose status another component changed in the database, and
   * announces the change. Failures stay pending for the retrier.
   */
  async converge(keys: Pick<Key, 'id' | 'ownerId'>[]): Promise<number> {
    if (!keys.length) return 0;
    const outcomes = await Promise.all(keys.map((k) => this.reapply(k.id, k.ownerId)));
    this.events.emit('changed', {});
    return outcomes.filter((o) => o === 'failed').length;
  }

  /** For callers that already hold the owner's lock. */
  async applyLocked(key: Key): Promise<SyncOutcome> {
    try {
      await this.push(key);
    } catch (e) {
      if (!(e instanceof CoreError)) throw e;
      this.log.warn(
        { owner: key.ownerId, email: key.email, status: key.status, err: e.message, kind: e.kind },
        'core change pending',
      );
      this.events.emit('pending');
      return 'failed';
    }
    await this.keys.markApplied([{ id: key.id, seq: key.changeSeq }]);
    if (key.status !== 'ACTIVE')
      this.events.emit('removed', { email: key.email, status: key.status, changedAt: key.updatedAt });
    return 'applied';
  }

  /**
   * Re-reads the key under its owner's lock, so a retry never undoes a newer
   * change. `force` pushes even a key the core is believed to hold.
   */
  async reapply(keyId: number, ownerId: string, opts: { force?: boolean } = {}): Promise<SyncOutcome | 'current'> {
    return this.locks.run(ownerId, async () => {
      const key = await this.keys.getById(keyId);
      if (!key || (key.provisioned && !opts.force)) return 'current';
      return this.applyLocked(key);
    });
  }

  /** The core call for the key's status, without bookkeeping. Throws CoreError. */
  push(key: Key): Promise<AddUserOutcome | RemoveUserOutcome> {
    if (key.status !== 'ACTIVE') return this.core.removeUser(key.inboundTag, key.email);
    return this.core.addUser(key.inboundTag, {
      email: key.email,
      uuid: key.uuid,
      flow: key.flow,
      level: this.config.core.userLevel,
    });
  }
}
