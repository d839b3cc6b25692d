import { stringify } from 'yaml';
import { displayName, uniqueNames } from './subscription.notice';
import { SubscriptionKey, SubscriptionNode } from './subscription.types';

/** Where mihomo's mixed (SOCKS + HTTP) port listens on the user's machine. */
export const CLASH_MIXED_PORT = 7890;

/**
 * The subset of a mihomo `vless` proxy this document uses, after mihomo's
 * docs and the meta-json-schema the tests validate against (no maintained
 * typed model installs from npm).
 */
export interface ClashVlessProxy {
  name: string;
  type: 'vless';
  server: string;
  port: number;
  uuid: string;
  udp: boolean;
  flow?: string;
  tls: boolean;
  servername?: string;
  'client-fingerprint'?: string;
  'reality-opts'?: { 'public-key': string; 'short-id': string };
  network: 'tcp' | 'ws' | 'grpc' | 'xhttp';
  'ws-opts'?: { 'v2ray-http-upgrade': boolean };
}

export interface ClashConfig {
  'mixed-port': number;
  'allow-lan': boolean;
  mode: 'rule';
  'log-level': 'warning';
  proxies: ClashVlessProxy[];
  'proxy-groups': { name: string; type: 'select'; proxies: string[] }[];
  rules: string[];
}

/** mihomo has no mKCP client; such nodes are left out. httpupgrade is its ws transport in upgrade mode. */
function network(node: SubscriptionNode): Pick<ClashVlessProxy, 'network' | 'ws-opts'> | null {
  switch (node.transport) {
    case 'tcp':
    case 'ws':
    case 'grpc':
    case 'xhttp':
      return { network: node.transport };
    case 'httpupgrade':
      return { network: 'ws', 'ws-opts': { 'v2ray-http-upgrade': true } };
    default:
      return null;
  }
}

/**
 * A Clash Meta (mihomo) profile: one vless proxy per node, a select group
 * over them, and a single rule sending everything to the group. Returns null
 * when no node has a transport mihomo can use.
 */
export function buildClashConfig(key: SubscriptionKey, opts: { title: string }): ClashConfig | null {
  const usable = key.nodes.flatMap((node) => {
    const net = network(node);
    return net ? [{ node, net }] : [];
  });
  if (usable.length === 0) return null;
  // A comma would split the MATCH rule that names the group.
  const [group, ...names] = uniqueNames([
    opts.title.replace(/,/g, ' '),
    ...usable.map(({ node }) => displayName(key, node.remark)),
  ]);
  const proxies = usable.map(({ node, net }, i): ClashVlessProxy => {
    const secure = node.security !== 'none';
    return {
      name: names[i],
      type: 'vless',
      server: node.host,
      port: node.port,
      uuid: key.uuid,
      udp: true,
      ...(key.flow ? { flow: key.flow } : {}),
      tls: secure,
      ...(secure ? { servername: node.serverName } : {}),
      ...(secure && node.fingerprint ? { 'client-fingerprint': node.fingerprint } : {}),
      ...(node.security === 'reality' && node.reality
        ? { 'reality-opts': { 'public-key': node.reality.publicKey, 'short-id': node.reality.shortId } }
        : {}),
      ...net,
    };
  });
  return {
    'mixed-port': CLASH_MIXED_PORT,
    'allow-lan': false,
    mode: 'rule',
    'log-level': 'warning',
    proxies,
    'proxy-groups': [{ name: group, type: 'select', proxies: proxies.map((p) => p.name) }],
    rules: [`MATCH,${group}`],
  };
}

/** The profile as YAML, serialized by the yaml library. */
export function buildClash(key: SubscriptionKey, opts: { title: string }): string | null {
  const config = buildClashConfig(key, opts);
  return config ? stringify(config) : null;
}
