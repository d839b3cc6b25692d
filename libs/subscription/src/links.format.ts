import { SubscriptionKey } from './subscription.types';

/** The v2rayN-style list: share links one per line, base64-encoded unless plain. */
export function buildLinks(key: Pick<SubscriptionKey, 'nodes'>, opts: { plain: boolean }): string {
  const text = key.nodes.map((n) => n.link).join('\n');
  return opts.plain ? text : Buffer.from(text).toString('base64');
}
