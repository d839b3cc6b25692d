import { Injectable } from '@nestjs/common';
import { ConflictError, Key, KeyStatus } from '@keyd/domain';
import { KeyChanges } from './key.changes';
import { newSubscriptionToken } from './key.factory';
import * as input from './key-input.validation';

export interface SetLimitCommand {
  ownerId: unknown;
  dataLimitBytes: unknown;
  limitReset?: unknown;
}

export interface SetDeviceLimitCommand {
  ownerId: unknown;
  deviceLimit: unknown;
}

const overLimit = (used: number, limit: number) => limit > 0 && used >= limit;
const used = (k: Key) => k.usage.uplinkBytes + k.usage.downlinkBytes;

/**
 * The status a live key should have for its usage and limit. Other statuses
 * stay, and a key past its end is never brought back: the expirer takes it.
 */
export function statusForUsage(key: Key, usedBytes: number, limitBytes: number, now: Date): KeyStatus {
  if (key.status === 'ACTIVE' && overLimit(usedBytes, limitBytes)) return 'SUSPENDED';
  if (key.status === 'SUSPENDED' && !overLimit(usedBytes, limitBytes) && key.subscriptionEnd > now) return 'ACTIVE';
  return key.status;
}

function refuseRevoked(key: Key): void {
  if (key.status === 'REVOKED')
    throw new ConflictError(`the key of owner_id ${JSON.stringify(key.ownerId)} is revoked`);
}

/** Operator changes to an existing key: revocation, data limits, usage resets and subscription tokens. */
@Injectable()
export class KeyAdminService {
  constructor(private readonly changes: KeyChanges) {}

  revoke(ownerId: unknown): Promise<Key> {
    // Revoking twice is not an error: the owner simply has nothing live, and gets its latest key back.
    return this.changes.apply('revoke', input.ownerId(ownerId), 'live', () => ({
      status: 'REVOKED',
      subscriptionToken: null,
    }));
  }

  /** Sets or clears (0) the limit; the key is suspended or brought back at once when that changes the verdict. */
  setLimit(cmd: SetLimitCommand): Promise<Key> {
    const ownerId = input.ownerId(cmd.ownerId);
    const { data_limit_bytes: limit, data_limit_reset: reset } = input.parseCommand(input.dataLimitSchema, {
      data_limit_bytes: cmd.dataLimitBytes,
      data_limit_reset: cmd.limitReset,
    });
    return this.changes.apply('set-limit', ownerId, 'latest', (key, now) => {
      refuseRevoked(key);
      const status = statusForUsage(key, used(key), limit, now);
      return { dataLimitBytes: limit, limitReset: reset, status: status === key.status ? undefined : status };
    });
  }

  /** Sets or clears (0) how many client addresses may use the key at once; open connections are judged as they come. */
  setDeviceLimit(cmd: SetDeviceLimitCommand): Promise<Key> {
    const ownerId = input.ownerId(cmd.ownerId);
    const { device_limit: limit } = input.parseCommand(input.deviceLimitSchema, { device_limit: cmd.deviceLimit });
    return this.changes.apply('set-device-limit', ownerId, 'latest', (key) => {
      refuseRevoked(key);
      return key.deviceLimit === limit ? null : { deviceLimit: limit };
    });
  }

  /** Zeroes the current period's usage; a key suspended for data comes back. */
  resetUsage(ownerId: unknown): Promise<Key> {
    return this.changes.apply('reset-usage', input.ownerId(ownerId), 'latest', (key, now) => {
      refuseRevoked(key);
      const status = statusForUsage(key, 0, key.dataLimitBytes, now);
      return { resetUsage: true, status: status === key.status ? undefined : status };
    });
  }

  /** A new token: the old subscription URL stops answering at once. */
  regenerateSubscriptionToken(ownerId: unknown): Promise<Key> {
    return this.changes.apply('regenerate-subscription-token', input.ownerId(ownerId), 'latest', (key) => {
      refuseRevoked(key);
      return { subscriptionToken: newSubscriptionToken() };
    });
  }

  revokeSubscriptionToken(ownerId: unknown): Promise<Key> {
    return this.changes.apply('revoke-subscription-token', input.ownerId(ownerId), 'latest', (key) =>
      key.subscriptionToken ? { subscriptionToken: null } : null,
    );
  }
}
