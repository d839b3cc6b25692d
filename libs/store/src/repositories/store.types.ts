import { GrantAction, Key, KeyStatus } from '@keyd/domain';

export interface NewKey {
  ownerId: string;
  uuid: string;
  email: string;
  nodeId: number;
  inboundTag: string;
  flow: string;
  subscriptionEnd: Date;
}

export interface GrantRequestRecord {
  requestId: string;
  ownerId: string;
  durationSeconds: number;
  keyId: number;
  action: GrantAction;
}

export interface KeyListQuery {
  status?: KeyStatus;
  afterId: number;
  limit: number;
}

/** Writes available inside one transaction of the write queue. */
export interface KeyWriter {
  findActiveByOwner(ownerId: string): Promise<Key | null>;
  findRequest(requestId: string): Promise<GrantRequestRecord | null>;
  getKey(id: number): Promise<Key>;
  insertKey(key: NewKey, now: Date): Promise<Key>;
  /** Changes what the core should hold for the key, so it gets a new change sequence. */
  setStatus(id: number, status: KeyStatus, now: Date): Promise<Key>;
  setSubscriptionEnd(id: number, end: Date, now: Date): Promise<Key>;
  insertRequest(record: GrantRequestRecord, now: Date): Promise<void>;
}
