import { Inject, Injectable } from '@nestjs/common';
import { GrantAction, Key } from '@keyd/domain';
import { AppLogger, LOGGER } from '@keyd/observability';
import { KeyEvents } from './key.events';

export interface GrantRecord {
  key: Key;
  action: GrantAction;
  replayed: boolean;
  reactivated?: boolean;
  durationSeconds: number;
  requestId?: string;
}

/** One log line and the events for every answered grant, so that metrics and timers follow. */
@Injectable()
export class GrantRecorder {
  constructor(
    private readonly events: KeyEvents,
    @Inject(LOGGER) private readonly log: AppLogger,
  ) {}

  granted({ key, action, replayed, reactivated, durationSeconds, requestId }: GrantRecord): void {
    this.events.emit('granted', { action, provisioned: key.provisioned, replayed });
    if (!replayed) {
      if (action === 'ISSUED') this.events.emit('changed', { subscriptionEnd: key.subscriptionEnd });
      else if (reactivated) this.events.emit('changed', {});
      else this.events.emit('extended', { subscriptionEnd: key.subscriptionEnd });
      this.events.emit('deviceLimit', { ownerId: key.ownerId, email: key.email, deviceLimit: key.deviceLimit });
    }
    this.log.info(
      {
        event: 'grant',
        owner: key.ownerId,
        key_id: key.id,
        email: key.email,
        inbound: key.inboundTag,
        action,
        subscription_end: key.subscriptionEnd.toISOString(),
        duration_seconds: durationSeconds,
        data_limit_bytes: key.dataLimitBytes,
        device_limit: key.deviceLimit,
        request_id: requestId,
        replayed,
        provisioned: key.provisioned,
      },
      'grant',
    );
  }
}
