import { Inject, Injectable } from '@nestjs/common';
import { KeydConfig } from '@keyd/config';
import { CLOCK, Clock, KEY_STATUSES, KeyStatus } from '@keyd/domain';
import { BulkPusher, KeyEvents } from '@keyd/keys';
import { NodeRecord, ReplicaKey, ReplicaRepository, ReplicaTarget } from '@keyd/store';
import { WireDesiredKey } from './fleet.protos';

/** Where this agent's keys go: its node and its core's inbound. */
export const REPLICA_TARGET = Symbol('REPLICA_TARGET');

export const replicaTarget = (node: NodeRecord, config: Pick<KeydConfig, 'core'>): ReplicaTarget => ({
  nodeId: node.id,
  inboundTag: config.core.inboundTag,
});

const toReplica = (k: WireDesiredKey): ReplicaKey => {
  if (!(KEY_STATUSES as readonly string[]).includes(k.status)) throw new Error(`unknown key status ${k.status}`);
  return {
    uuid: k.uuid,
    email: k.email,
    ownerId: k.owner_id,
    flow: k.flow,
    status: k.status as KeyStatus,
    subscriptionEnd: new Date(k.subscription_end_ms),
    deviceLimit: k.device_limit,
  };
};

/**
 * An agent's half of a sync: commit the control plane's changes to the local
 * copy with their revision, then make the local core match through the same
 * push every standalone change takes. The reconcile machinery (expiry timer,
 * config file, restart recovery, retries) runs on the local copy as it does
 * on a standalone database.
 */
@Injectable()
export class ReplicaApplier {
  constructor(
    private readonly replica: ReplicaRepository,
    private readonly pusher: BulkPusher,
    private readonly events: KeyEvents,
    @Inject(REPLICA_TARGET) private readonly target: ReplicaTarget,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  revision(): Promise<number> {
    return this.replica.revision();
  }

  /** Returns how many core changes failed; they stay pending for the local retrier. */
  async apply(keys: WireDesiredKey[], revision: number, snapshot: boolean): Promise<number> {
    const { changed, limits } = await this.replica.apply(
      keys.map(toReplica),
      revision,
      this.target,
      snapshot,
      this.clock.now(),
    );
    // The device limit check on this node's access log follows the limits the control plane sets.
    for (const k of limits)
      this.events.emit('deviceLimit', { ownerId: k.ownerId, email: k.email, deviceLimit: k.deviceLimit });
    // Renewals change no status, only the end: the expiry timer and the config file follow them too.
    if (!changed.length && keys.length) this.events.emit('changed', {});
    return this.pusher.converge(changed);
  }

  /** Removes every key from the core: the node is being deleted. */
  async drain(): Promise<number> {
    const live = await this.replica.live();
    const gone = live.map((k) => ({
      uuid: k.uuid,
      email: k.email,
      ownerId: k.ownerId,
      flow: k.flow,
      status: 'REVOKED' as const,
      subscriptionEnd: k.subscriptionEnd,
      deviceLimit: k.deviceLimit,
    }));
    const { changed } = await this.replica.apply(gone, await this.revision(), this.target, false, this.clock.now());
    return this.pusher.converge(changed);
  }

  pending(): Promise<number> {
    return this.replica.countPending();
  }
}
