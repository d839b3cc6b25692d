import { SubscriptionKey } from './subscription.types';

export interface RenderedSubscription {
  body: string;
  headers: Record<string, string>;
}

/**
 * The response v2rayN-style clients (v2rayN, v2rayNG, Hiddify, Streisand,
 * sing-box importers) expect: links base64-encoded one per line, usage and
 * expiry in Subscription-Userinfo, the refresh interval in hours.
 */
export function renderSubscription(
  key: SubscriptionKey,
  opts: { plain: boolean; updateIntervalHours: number; title: string },
): RenderedSubscription {
  const text = key.links.join('\n');
  const slug = key.ownerId.replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 64) || 'key';
  return {
    body: opts.plain ? text : Buffer.from(text).toString('base64'),
    headers: {
      'Content-Type': 'text/plain; charset=utf-8',
      'Subscription-Userinfo': `upload=${key.uploadBytes}; download=${key.downloadBytes}; total=${key.totalBytes}; expire=${Math.floor(key.subscriptionEnd.getTime() / 1000)}`,
      'Profile-Update-Interval': String(opts.updateIntervalHours),
      'Profile-Title': `base64:${Buffer.from(opts.title).toString('base64')}`,
      'Content-Disposition': `attachment; filename="${opts.title.replace(/[^A-Za-z0-9._-]+/g, '-')}-${slug}.txt"`,
      'Cache-Control': 'no-store',
    },
  };
}
