import { SubscriptionKey } from './subscription.types';

/**
 * Why a key that is still served no longer carries traffic, in words an app
 * can show next to the server's name; null while the key works.
 */
export function keyNotice(key: Pick<SubscriptionKey, 'status' | 'subscriptionEnd'>): string | null {
  switch (key.status) {
    case 'EXPIRED':
      return `expired on ${key.subscriptionEnd.toISOString().slice(0, 10)}`;
    case 'SUSPENDED':
      return 'data limit reached';
    case 'REVOKED':
      return 'revoked';
    default:
      return null;
  }
}

/** The server's name as apps list it, with the notice appended when the key has stopped. */
export function displayName(key: Pick<SubscriptionKey, 'status' | 'subscriptionEnd'>, remark: string): string {
  const notice = keyNotice(key);
  return notice ? `${remark} (${notice})` : remark;
}

/**
 * Names must be unique inside one document (sing-box tags, Clash proxy names):
 * a repeated remark gets " 2", " 3", … appended.
 */
export function uniqueNames(names: string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((name) => {
    const count = (seen.get(name) ?? 0) + 1;
    seen.set(name, count);
    return count === 1 ? name : `${name} ${count}`;
  });
}
