const LOOPBACK = '127.0.0.1';

export interface DemoPorts {
  api: number;
  vless: number;
  grpc: number;
  http: number;
  sub: number;
  /** The local VLESS client's entrance for the key under test, and for a key the core never had. */
  tunnel: number;
  stranger: number;
}

export const INBOUND_TAG = 'vless-in';

/** The core: its API on one port, a VLESS inbound without clients on another, per-user counters on. */
export function serverConfig(p: DemoPorts): object {
  return {
    log: { loglevel: 'warning' },
    api: { tag: 'api', services: ['HandlerService', 'StatsService'] },
    stats: {},
    policy: { levels: { '0': { statsUserUplink: true, statsUserDownlink: true } }, system: {} },
    inbounds: [
      { tag: 'api-in', listen: LOOPBACK, port: p.api, protocol: 'dokodemo-door', settings: { address: LOOPBACK } },
      {
        tag: INBOUND_TAG,
        listen: LOOPBACK,
        port: p.vless,
        protocol: 'vless',
        settings: { clients: [], decryption: 'none' },
      },
    ],
    outbounds: [{ protocol: 'freedom', tag: 'direct' }],
    routing: { rules: [{ type: 'field', inboundTag: ['api-in'], outboundTag: 'api' }] },
  };
}

/**
 * A VLESS client: each local port forwards, through the core's VLESS inbound
 * with one UUID, to keyd's own HTTP listener. A request that comes back went
 * through the tunnel; the stranger's UUID shows that one without a key doesn't.
 */
export function clientConfig(p: DemoPorts, uuid: string, strangerUuid: string): object {
  const entry = (tag: string, port: number) => ({
    tag,
    listen: LOOPBACK,
    port,
    protocol: 'dokodemo-door',
    settings: { address: LOOPBACK, port: p.http, network: 'tcp' },
  });
  const out = (tag: string, id: string) => ({
    tag,
    protocol: 'vless',
    settings: { vnext: [{ address: LOOPBACK, port: p.vless, users: [{ id, encryption: 'none' }] }] },
  });
  return {
    log: { loglevel: 'warning' },
    inbounds: [entry('key', p.tunnel), entry('stranger', p.stranger)],
    outbounds: [out('key-out', uuid), out('stranger-out', strangerUuid)],
    routing: {
      rules: [
        { type: 'field', inboundTag: ['key'], outboundTag: 'key-out' },
        { type: 'field', inboundTag: ['stranger'], outboundTag: 'stranger-out' },
      ],
    },
  };
}
