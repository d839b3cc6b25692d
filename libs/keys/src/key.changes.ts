import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, Clock, Key, NotFoundError } from '@keyd/domain';
import { AppLogger, LOGGER } from '@keyd/observability';
import { KeyPatch, KeyRepository } from '@keyd/store';
import { KeyEvents } from './key.events';
import { KeySyncService } from './key-sync.service';

export type KeyChange = (key: Key, now: Date) => KeyPatch | null;

/**
 * One change to an owner's current key: decided and committed under the
 * owner's lock, then pushed to the core when it changed what the core holds.
 */
@Injectable()
export class KeyChanges {
  constructor(
    private readonly keys: KeyRepository,
    private readonly sync: KeySyncService,
    private readonly events: KeyEvents,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) private readonly log: AppLogger,
  ) {}

  /** `pick` chooses the key to change among the owner's; `change` returns null to leave it as it is. */
  async apply(event: string, ownerId: string, pick: 'live' | 'latest', change: KeyChange): Promise<Key> {
    return this.sync.exclusive(ownerId, async () => {
      const now = this.clock.now();
      const { before, after } = await this.keys.write(async (tx) => {
        const key = pick === 'live' ? await tx.findLiveByOwner(ownerId) : await tx.findLatestByOwner(ownerId);
        if (!key) return { before: null, after: null };
        const patch = change(key, now);
        return { before: key, after: patch ? await tx.update(key.id, patch, now) : key };
      });
      if (!before || !after) {
        const current = await this.keys.findCurrentByOwner(ownerId);
        if (!current || pick === 'latest') throw new NotFoundError(`no key for owner_id ${JSON.stringify(ownerId)}`);
        return current;
      }
      if (after === before) return after;
      if (after.deviceLimit !== before.deviceLimit)
        this.events.emit('deviceLimit', { ownerId, email: after.email, deviceLimit: after.deviceLimit });
      let provisioned = after.provisioned;
      if (after.changeSeq !== before.changeSeq) {
        provisioned = (await this.sync.applyLocked(after)) === 'applied';
        this.events.emit('changed', {});
      }
      this.log.info(
        {
          event,
          owner: ownerId,
          key_id: after.id,
          email: after.email,
          inbound: after.inboundTag,
          from: before.status,
          status: after.status,
          data_limit_bytes: after.dataLimitBytes,
          device_limit: after.deviceLimit,
          provisioned,
        },
        event,
      );
      return { ...after, provisioned };
    });
  }
}
