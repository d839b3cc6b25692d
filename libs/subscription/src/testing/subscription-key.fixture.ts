import { SubscriptionKey, SubscriptionNode } from '../subscription.types';

export const REALITY_NODE: SubscriptionNode = {
  link: 'vless://0f3c2f4e-5d1a-4b7e-9c1d-2a3b4c5d6e7f@vpn.example.com:443?type=tcp&encryption=none&security=reality&pbk=Hh1Jq2r9F3xKc7Lw0sV4mYb8Tz6uQ5nD1eG2iP3oA7E&sid=6ba85179e30d4fc2&sni=www.microsoft.com&fp=chrome&flow=xtls-rprx-vision#keyd-alice',
  remark: 'keyd-alice',
  host: 'vpn.example.com',
  port: 443,
  security: 'reality',
  transport: 'tcp',
  serverName: 'www.microsoft.com',
  fingerprint: 'chrome',
  reality: { publicKey: 'Hh1Jq2r9F3xKc7Lw0sV4mYb8Tz6uQ5nD1eG2iP3oA7E', shortId: '6ba85179e30d4fc2' },
};

export function subscriptionKey(over: Partial<SubscriptionKey> = {}): SubscriptionKey {
  return {
    ownerId: 'alice',
    uuid: '0f3c2f4e-5d1a-4b7e-9c1d-2a3b4c5d6e7f',
    flow: 'xtls-rprx-vision',
    status: 'ACTIVE',
    subscriptionEnd: new Date('2027-01-31T12:00:00Z'),
    nodes: [REALITY_NODE],
    uploadBytes: 1_000,
    downloadBytes: 2_000,
    totalBytes: 10 * 1024 ** 3,
    ...over,
  };
}

/** A second node, as the fleet will add them: TLS over WebSocket. */
export const TLS_WS_NODE: SubscriptionNode = {
  link: 'vless://0f3c2f4e-5d1a-4b7e-9c1d-2a3b4c5d6e7f@de.example.com:8443?type=ws&encryption=none&security=tls&sni=de.example.com#keyd-alice',
  remark: 'keyd-alice',
  host: 'de.example.com',
  port: 8443,
  security: 'tls',
  transport: 'ws',
  serverName: 'de.example.com',
  fingerprint: '',
};
