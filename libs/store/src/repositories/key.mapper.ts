import { Key, KeyStatus } from '@keyd/domain';
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
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
  };
}
