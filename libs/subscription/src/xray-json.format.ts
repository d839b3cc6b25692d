import { displayName } from './subscription.notice';
import { SubscriptionKey, SubscriptionNode } from './subscription.types';

/** Default loopback ports, the ones v2rayN uses for its local SOCKS and HTTP proxies. */
export const XRAY_SOCKS_PORT = 10808;
export const XRAY_HTTP_PORT = 10809;

interface StreamSettings {
  network: string;
  security: 'reality' | 'tls' | 'none';
  realitySettings?: { serverName: string; fingerprint: string; publicKey: string; shortId: string; spiderX: string };
  tlsSettings?: { serverName: string; fingerprint?: string };
}

interface VlessOutbound {
  tag: string;
  protocol: 'vless';
  settings: {
    vnext: { address: string; port: number; users: { id: string; encryption: 'none'; flow: string; level: 0 }[] }[];
  };
  streamSettings: StreamSettings;
}

/** The parts of Xray-core's JSON client config this document sets. */
export interface XrayClientConfig {
  /** Shown by v2rayN as the custom config's name; the core ignores it. */
  remarks: string;
  log: { loglevel: 'warning' };
  inbounds: {
    tag: string;
    listen: string;
    port: number;
    protocol: 'socks' | 'http';
    settings: Record<string, unknown>;
  }[];
  outbounds: (VlessOutbound | { tag: string; protocol: 'freedom'; settings: Record<string, never> })[];
  routing: {
    domainStrategy: 'AsIs';
    balancers: { tag: string; selector: string[] }[];
    rules: { type: 'field'; network: string; balancerTag: string }[];
  };
}

function stream(node: SubscriptionNode): StreamSettings {
  switch (node.security) {
    case 'reality':
      return {
        network: node.transport,
        security: 'reality',
        realitySettings: {
          serverName: node.serverName,
          fingerprint: node.fingerprint,
          publicKey: node.reality?.publicKey ?? '',
          shortId: node.reality?.shortId ?? '',
          spiderX: '',
        },
      };
    case 'tls':
      return {
        network: node.transport,
        security: 'tls',
        tlsSettings: { serverName: node.serverName, ...(node.fingerprint ? { fingerprint: node.fingerprint } : {}) },
      };
    default:
      return { network: node.transport, security: 'none' };
  }
}

/**
 * A complete Xray client config: SOCKS and HTTP inbounds on loopback, one
 * vless outbound per node behind a balancer that all traffic is routed to,
 * and `freedom` for whoever edits the rules. Every transport keyd can serve is
 * one Xray speaks, so no node is left out.
 */
export function buildXrayJson(key: SubscriptionKey, opts: { title: string }): XrayClientConfig {
  const proxies = key.nodes.map((node, i): VlessOutbound => ({
    tag: `proxy-${i + 1}`,
    protocol: 'vless',
    settings: {
      vnext: [
        {
          address: node.host,
          port: node.port,
          users: [{ id: key.uuid, encryption: 'none', flow: key.flow, level: 0 }],
        },
      ],
    },
    streamSettings: stream(node),
  }));
  return {
    remarks: displayName(key, key.nodes.length === 1 ? key.nodes[0].remark : opts.title),
    log: { loglevel: 'warning' },
    inbounds: [
      {
        tag: 'socks-in',
        listen: '127.0.0.1',
        port: XRAY_SOCKS_PORT,
        protocol: 'socks',
        settings: { auth: 'noauth', udp: true },
      },
      { tag: 'http-in', listen: '127.0.0.1', port: XRAY_HTTP_PORT, protocol: 'http', settings: {} },
    ],
    outbounds: [...proxies, { tag: 'direct', protocol: 'freedom', settings: {} }],
    routing: {
      domainStrategy: 'AsIs',
      balancers: [{ tag: 'proxy', selector: proxies.map((p) => p.tag) }],
      rules: [{ type: 'field', network: 'tcp,udp', balancerTag: 'proxy' }],
    },
  };
}
