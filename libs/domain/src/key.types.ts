export const KEY_STATUSES = ['ACTIVE', 'EXPIRED', 'REVOKED', 'SUSPENDED'] as const;
export type KeyStatus = (typeof KEY_STATUSES)[number];

export type GrantAction = 'ISSUED' | 'RENEWED';

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
  createdAt: Date;
  updatedAt: Date;
}

export interface KeyView extends Key {
  vlessUrl: string;
}

export interface GrantResult {
  key: KeyView;
  action: GrantAction;
}

export interface KeyPage {
  keys: KeyView[];
  nextPageToken: string;
}

export interface Clock {
  now(): Date;
}

export const CLOCK = Symbol('CLOCK');
export const systemClock: Clock = { now: () => new Date() };
