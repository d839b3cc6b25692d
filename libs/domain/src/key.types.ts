export const KEY_STATUSES = ['ACTIVE', 'EXPIRED', 'REVOKED', 'SUSPENDED'] as const;
export type KeyStatus = (typeof KEY_STATUSES)[number];

export type GrantAction = 'ISSUED' | 'RENEWED';

/** When a key's data usage returns to zero on its own: never, or at each UTC day, week (Monday) or month. */
export const LIMIT_RESETS = ['none', 'day', 'week', 'month'] as const;
export type LimitReset = (typeof LIMIT_RESETS)[number];

/** Bytes counted by the core for one key, in the current usage period and since the key was issued. */
export interface KeyUsage {
  uplinkBytes: number;
  downlinkBytes: number;
  lifetimeUplinkBytes: number;
  lifetimeDownlinkBytes: number;
  lastTrafficAt: Date | null;
  periodStart: Date;
}

/** A key as the domain and the transports see it; the store's entities never leave libs/store. */
export interface Key {
  id: number;
  ownerId: string;
  uuid: string;
  email: string;
  inboundTag: string;
  flow: string;
  status: KeyStatus;
  subscriptionEnd: Date;
  /** The core is known to match the status: present when ACTIVE, absent otherwise. */
  provisioned: boolean;
  /** Sequence of the last change to what the core should hold for this key. */
  changeSeq: number;
  /** The node group whose nodes hold the key. */
  nodeGroup: string;
  /** Revision of the last change the fleet's agents follow (status or end); only grows. */
  rev: number;
  /** 0 means unlimited. Counts uplink plus downlink in the current usage period. */
  dataLimitBytes: number;
  limitReset: LimitReset;
  /** Client addresses that may use the key at once; 0 means unlimited. */
  deviceLimit: number;
  usage: KeyUsage;
  /** Null once revoked; the public subscription URL then answers 404. */
  subscriptionToken: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** One node that should hold a key, and whether its core is known to. */
export interface KeyNodeState {
  name: string;
  provisioned: boolean;
}

export interface KeyView extends Key {
  vlessUrl: string;
  /** Empty when the key has no subscription token. */
  subscriptionUrl: string;
  /** The nodes that should hold the key; absent where the answer does not list them. */
  nodes?: KeyNodeState[];
}

export interface GrantResult {
  key: Key;
  action: GrantAction;
}

export interface KeyPage {
  keys: Key[];
  nextPageToken: string;
}

export interface Clock {
  now(): Date;
}

export const CLOCK = Symbol('CLOCK');
export const systemClock: Clock = { now: () => new Date() };
