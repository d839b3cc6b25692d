/** What `GET /sub/{token}` can answer with. */
export type SubscriptionFormat = 'base64' | 'plain' | 'singbox' | 'clash' | 'json' | 'html';

const FORMATS: readonly SubscriptionFormat[] = ['base64', 'plain', 'singbox', 'clash', 'json', 'html'];

/**
 * User-Agent families, first match wins. Apps that read share links come
 * first because several of them name other cores in their User-Agent
 * (Hiddify's says "ClashMeta v2ray sing-box"); browsers come last because
 * some apps' User-Agents start with Mozilla too.
 */
const FAMILIES: readonly [RegExp, SubscriptionFormat][] = [
  [/\b(hiddify|v2rayng?\b|streisand|shadowrocket|nekobox|nekoray|happ\b)/i, 'base64'],
  [/\b(clash[ .-]?meta|clashmeta|mihomo|clash[ -]?verge|flclash|stash|clash)/i, 'clash'],
  [/\b(sing-box|sfa|sfi|sfm|sft)\b/i, 'singbox'],
  [/^(xray|v2ray)\b/i, 'json'],
  [/^Mozilla\//, 'html'],
];

/**
 * `?format=` wins; an unknown value is ignored, as before. Otherwise the
 * User-Agent decides, and anything unrecognised gets the share links.
 */
export function chooseFormat(userAgent: string | undefined, formatParam: string | null): SubscriptionFormat {
  const asked = formatParam?.toLowerCase();
  const explicit = FORMATS.find((f) => f === asked);
  if (explicit) return explicit;
  const ua = userAgent ?? '';
  return FAMILIES.find(([pattern]) => pattern.test(ua))?.[1] ?? 'base64';
}
