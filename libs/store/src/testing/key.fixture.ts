import { NewKey } from '../repositories/store.types';

const DAY_MS = 86_400_000;

/** The UUID of test key n: distinct for every n, and valid. */
const testUuid = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

/**
 * A key as the specs issue it: on the vless-in inbound of a node, no flow,
 * ending a day after now, without limits or subscription token.
 */
export function testKey(ownerId: string, n: number, nodeId: number, now: Date, more: Partial<NewKey> = {}): NewKey {
  return {
    ownerId,
    uuid: testUuid(n),
    email: `${ownerId}.mail`,
    nodeId,
    inboundTag: 'vless-in',
    flow: '',
    subscriptionEnd: new Date(now.getTime() + DAY_MS),
    dataLimitBytes: 0,
    limitReset: 'none',
    deviceLimit: 0,
    subscriptionToken: null,
    ...more,
  };
}
