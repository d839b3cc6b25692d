import { KeyStatus } from '@keyd/domain';

/** What a subscription response is made of. */
export interface SubscriptionKey {
  ownerId: string;
  status: KeyStatus;
  subscriptionEnd: Date;
  links: string[];
  uploadBytes: number;
  downloadBytes: number;
  /** 0 means unlimited. */
  totalBytes: number;
}

/** Finds the key a subscription token belongs to; null for unknown or revoked tokens. */
export interface SubscriptionLookup {
  findByToken(token: string): Promise<SubscriptionKey | null>;
}

export const SUBSCRIPTION_LOOKUP = Symbol('SUBSCRIPTION_LOOKUP');
