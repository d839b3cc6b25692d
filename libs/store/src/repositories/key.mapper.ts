import { Key, KeyStatus, LimitReset } from '@keyd/domain';
import { KeyEntity } from '../entities';

export function toKey(e: KeyEntity): Key {
  return {
    id: e.id,
    ownerId: e.ownerId,
    uuid: e.uuid,
    email: e.email,
    inboundTag: e.inboundTag,
    flow: e.flow,
    status: e.status as KeyStatus,
    subscriptionEnd: e.subscriptionEnd,
    provisioned: e.appliedSeq >= e.changeSeq,
    changeSeq: e.changeSeq,
    nodeGroup: e.nodeGroup,
    rev: e.rev,
    dataLimitBytes: e.dataLimitBytes,
    limitReset: e.limitReset as LimitReset,
    deviceLimit: e.deviceLimit,
    usage: {
      uplinkBytes: e.usedUplink,
      downlinkBytes: e.usedDownlink,
      lifetimeUplinkBytes: e.lifetimeUplink,
      lifetimeDownlinkBytes: e.lifetimeDownlink,
      lastTrafficAt: e.lastTrafficAt,
      periodStart: e.usagePeriodStart,
    },
    subscriptionToken: e.subToken,
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
  };
}
