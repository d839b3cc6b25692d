import { buildClash } from './clash.format';
import { SubscriptionFormat } from './format.selector';
import { buildLinks } from './links.format';
import { buildPage, PAGE_CSP } from './page.format';
import { buildSingBox } from './singbox.format';
import { keyNotice } from './subscription.notice';
import { SubscriptionKey } from './subscription.types';
import { buildXrayJson } from './xray-json.format';

export interface RenderedSubscription {
  /** 200, or 406 when no node of the key can be expressed in the asked format. */
  status: number;
  body: string;
  headers: Record<string, string>;
}

export interface RenderOptions {
  format: SubscriptionFormat;
  updateIntervalHours: number;
  title: string;
  /** The URL the client fetched, as published: the page shows it and the import links point at it. */
  subscriptionUrl: string;
  now: Date;
}

const TYPES: Record<SubscriptionFormat, { contentType: string; extension: string }> = {
  base64: { contentType: 'text/plain; charset=utf-8', extension: 'txt' },
  plain: { contentType: 'text/plain; charset=utf-8', extension: 'txt' },
  singbox: { contentType: 'application/json; charset=utf-8', extension: 'json' },
  json: { contentType: 'application/json; charset=utf-8', extension: 'json' },
  clash: { contentType: 'application/yaml; charset=utf-8', extension: 'yaml' },
  html: { contentType: 'text/html; charset=utf-8', extension: 'html' },
};

async function body(key: SubscriptionKey, opts: RenderOptions): Promise<string | null> {
  switch (opts.format) {
    case 'base64':
    case 'plain':
      return buildLinks(key, { plain: opts.format === 'plain' });
    case 'singbox': {
      const doc = buildSingBox(key, { title: opts.title });
      return doc && `${JSON.stringify(doc, null, 2)}\n`;
    }
    case 'clash':
      return buildClash(key, { title: opts.title });
    case 'json':
      return `${JSON.stringify(buildXrayJson(key, { title: opts.title }), null, 2)}\n`;
    case 'html':
      return buildPage(key, { title: opts.title, subscriptionUrl: opts.subscriptionUrl, now: opts.now });
  }
}

/**
 * The response for one key in one format. Every format carries the headers
 * the apps read: usage and expiry in Subscription-Userinfo, the refresh
 * interval in hours, the profile's title (with the reason when the key has
 * stopped working, so the app shows why) and a file name.
 */
export async function renderSubscription(key: SubscriptionKey, opts: RenderOptions): Promise<RenderedSubscription> {
  const { contentType, extension } = TYPES[opts.format];
  const notice = keyNotice(key);
  const title = notice ? `${opts.title} (${notice})` : opts.title;
  const slug = key.ownerId.replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 64) || 'key';
  const filename = `${opts.title.replace(/[^A-Za-z0-9._-]+/g, '-')}-${slug}.${extension}`;
  const headers: Record<string, string> = {
    'Content-Type': contentType,
    'Subscription-Userinfo': `upload=${key.uploadBytes}; download=${key.downloadBytes}; total=${key.totalBytes}; expire=${Math.floor(key.subscriptionEnd.getTime() / 1000)}`,
    'Profile-Update-Interval': String(opts.updateIntervalHours),
    'Profile-Title': `base64:${Buffer.from(title).toString('base64')}`,
    // The page is shown, not saved; every other format is a file for an app.
    'Content-Disposition': `${opts.format === 'html' ? 'inline' : 'attachment'}; filename="${filename}"`,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  };
  if (opts.format === 'html') {
    headers['Content-Security-Policy'] = PAGE_CSP;
    headers['Referrer-Policy'] = 'no-referrer';
    headers['X-Frame-Options'] = 'DENY';
  }
  const text = await body(key, opts);
  if (text === null) {
    return {
      status: 406,
      body: `this key's transport has no ${opts.format} form; use ?format=base64\n`,
      headers: { ...headers, 'Content-Type': 'text/plain; charset=utf-8' },
    };
  }
  return { status: 200, body: text, headers };
}
