import type { Configuration, Outbound, V2RayTransportOptions, VLESSOutboundOptions } from '@black-duty/sing-box-schema';
import { displayName, uniqueNames } from './subscription.notice';
import { SubscriptionKey, SubscriptionNode } from './subscription.types';

/** Where the mixed (SOCKS + HTTP) inbound listens on the user's machine. */
export const SINGBOX_MIXED_PORT = 2080;

/** sing-box has no xhttp or mKCP client; such nodes are left out of the document. */
function transport(node: SubscriptionNode): V2RayTransportOptions | undefined | null {
  switch (node.transport) {
    case 'tcp':
      return undefined;
    case 'ws':
      return { type: 'ws' };
    case 'grpc':
      return { type: 'grpc' };
    case 'httpupgrade':
      return { type: 'httpupgrade' };
    default:
      return null;
  }
}

function tls(node: SubscriptionNode): VLESSOutboundOptions['tls'] {
  if (node.security === 'none') return undefined;
  return {
    enabled: true,
    server_name: node.serverName,
    ...(node.fingerprint ? { utls: { enabled: true, fingerprint: node.fingerprint } } : {}),
    ...(node.security === 'reality' && node.reality
      ? { reality: { enabled: true, public_key: node.reality.publicKey, short_id: node.reality.shortId } }
      : {}),
  };
}

/** The nodes this format can express, each with its sing-box transport. */
export function singBoxNodes(key: Pick<SubscriptionKey, 'nodes'>): SubscriptionNode[] {
  return key.nodes.filter((n) => transport(n) !== null);
}

/**
 * A sing-box client profile: one vless outbound per node, a `urltest` over
 * them, a `selector` (the default route) over the urltest and each node,
 * `direct`, and a `mixed` inbound on loopback. Only options that sing-box
 * 1.10 through 1.12 all accept: no legacy special outbounds, no inbound
 * sniffing fields, no DNS section, so newer releases don't reject it.
 * Returns null when no node has a transport sing-box can use.
 */
export function buildSingBox(key: SubscriptionKey, opts: { title: string }): Configuration | null {
  const nodes = singBoxNodes(key);
  if (nodes.length === 0) return null;
  const [selector, auto, direct, ...tags] = uniqueNames([
    opts.title,
    `${opts.title} auto`,
    'direct',
    ...nodes.map((n) => displayName(key, n.remark)),
  ]);
  const vless: Outbound[] = nodes.map((node, i) => {
    const t = transport(node);
    const out: VLESSOutboundOptions = {
      type: 'vless',
      tag: tags[i],
      server: node.host,
      server_port: node.port,
      uuid: key.uuid,
      ...(key.flow ? { flow: key.flow } : {}),
      ...(node.security !== 'none' ? { tls: tls(node) } : {}),
      ...(t ? { transport: t } : {}),
    };
    return out;
  });
  return {
    log: { level: 'warn' },
    inbounds: [{ type: 'mixed', tag: 'mixed-in', listen: '127.0.0.1', listen_port: SINGBOX_MIXED_PORT }],
    outbounds: [
      { type: 'selector', tag: selector, outbounds: [auto, ...tags], default: auto },
      { type: 'urltest', tag: auto, outbounds: tags },
      ...vless,
      { type: 'direct', tag: direct },
    ],
    route: { final: selector },
  };
}
