import { EventEmitter } from 'node:events';
import { KeyStatus } from '@keyd/domain';

export interface KeyEventMap {
  /** What the core should hold changed (issue, revoke, expiry). */
  changed: [{ subscriptionEnd?: Date }];
  /** The core confirmed it no longer holds a key that stopped being ACTIVE; its open connections may remain. */
  removed: [{ email: string; status: Exclude<KeyStatus, 'ACTIVE'>; changedAt: Date }];
  /** A key's device limit may have changed (issue, renewal, operator change); 0 means unlimited. */
  deviceLimit: [{ ownerId: string; email: string; deviceLimit: number }];
  /** A change could not be pushed to the core and waits for a retry. */
  pending: [];
  /** A key's subscription end moved (renewal). */
  extended: [{ subscriptionEnd: Date }];
  /** A grant was answered; for metrics. */
  granted: [{ action: 'ISSUED' | 'RENEWED'; provisioned: boolean; replayed: boolean }];
}

/** In-process notifications from the key domain to reconciliation and metrics, so neither calls the other. */
export class KeyEvents extends EventEmitter<KeyEventMap> {}
