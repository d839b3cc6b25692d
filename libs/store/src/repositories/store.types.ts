import { GrantAction, Key, KeyStatus, LimitReset } from '@keyd/domain';

export interface NewKey {
  ownerId: string;
  uuid: string;
  email: string;
  nodeId: number;
  /** 'default' when unset. */
  nodeGroup?: string;
  inboundTag: string;
  flow: string;
  subscriptionEnd: Date;
  dataLimitBytes: number;
  limitReset: LimitReset;
  deviceLimit: number;
  subscriptionToken: string | null;
}

/** Fields a write may change on an existing key; a new status gives it a new change sequence. */
export interface KeyPatch {
  status?: KeyStatus;
  subscriptionEnd?: Date;
  dataLimitBytes?: number;
  limitReset?: LimitReset;
  deviceLimit?: number;
  /** Zeroes the usage of the current period and starts a new one now. */
  resetUsage?: boolean;
  subscriptionToken?: string | null;
}

export interface GrantRequestRecord {
  requestId: string;
  ownerId: string;
  durationSeconds: number;
  dataLimitBytes: number | null;
  limitReset: LimitReset | null;
  deviceLimit: number | null;
  keyId: number;
  action: GrantAction;
}

export interface KeyListQuery {
  status?: KeyStatus;
  afterId: number;
  limit: number;
}

/** A key an import writes with its own UUID and status; `applied` when the core needs no call for it. */
export interface ImportedKey extends NewKey {
  status: KeyStatus;
  applied: boolean;
}

/** Reads an import plans with, for a batch of rows at a time. */
export interface ImportLookups {
  findByUuids(uuids: string[]): Promise<Key[]>;
  /** ACTIVE or SUSPENDED keys of these owners. */
  findLiveByOwners(owners: string[]): Promise<Key[]>;
  /** Which of these emails keys already have, compared without case. */
  takenEmails(emails: string[]): Promise<string[]>;
}

/** Writes available inside one transaction of the write queue. */
export interface KeyWriter extends ImportLookups {
  /** The owner's ACTIVE or SUSPENDED key: at most one exists. */
  findLiveByOwner(ownerId: string): Promise<Key | null>;
  /** The owner's most recent key, whatever its status. */
  findLatestByOwner(ownerId: string): Promise<Key | null>;
  findRequest(requestId: string): Promise<GrantRequestRecord | null>;
  getKey(id: number): Promise<Key>;
  insertKey(key: NewKey, now: Date): Promise<Key>;
  /** Changes what the core should hold for the key, so it gets a new change sequence. */
  setStatus(id: number, status: KeyStatus, now: Date): Promise<Key>;
  update(id: number, patch: KeyPatch, now: Date): Promise<Key>;
  insertRequest(record: GrantRequestRecord, now: Date): Promise<void>;
  /** Many keys in one statement, each with its own change sequence. */
  insertMany(keys: ImportedKey[], now: Date): Promise<Key[]>;
  /**
   * A revision no key has, for a change to a node's set of keys that moves no
   * key's revision; recorded, so that it is never handed out again.
   */
  claimRevision(): Promise<number>;
}

/** How the core's config file prints a client: its indentation, and the level every client gets. */
export interface ClientFormat {
  indent: string;
  level: number;
}

/**
 * A page of active keys as the config file's clients, each printed as
 * JSON.stringify(client, null, 2) would at format.indent, joined by ",\n".
 */
export interface PrintedClients {
  text: string;
  count: number;
}

export interface ActiveSnapshot {
  /** The change sequence the pages are current as of. */
  seq: number;
  /** The active keys in id order, a page at a time. */
  printed(format: ClientFormat, size?: number): AsyncIterable<PrintedClients>;
}
