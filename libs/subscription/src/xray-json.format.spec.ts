import { REALITY_NODE, subscriptionKey, TLS_WS_NODE } from './testing/subscription-key.fixture';
import { buildXrayJson } from './xray-json.format';

describe('Xray JSON client config', () => {
  it('has loopback socks and http inbounds, the REALITY vless outbound and freedom', () => {
    const doc = buildXrayJson(subscriptionKey(), { title: 'keyd' });
    expect(doc.inbounds.map((i) => [i.protocol, i.listen])).toEqual([
      ['socks', '127.0.0.1'],
      ['http', '127.0.0.1'],
    ]);
    expect(doc.outbounds).toEqual([
      {
        tag: 'proxy-1',
        protocol: 'vless',
        settings: {
          vnext: [
            {
              address: 'vpn.example.com',
              port: 443,
              users: [
                { id: '0f3c2f4e-5d1a-4b7e-9c1d-2a3b4c5d6e7f', encryption: 'none', flow: 'xtls-rprx-vision', level: 0 },
              ],
            },
          ],
        },
        streamSettings: {
          network: 'tcp',
          security: 'reality',
          realitySettings: {
            serverName: 'www.microsoft.com',
            fingerprint: 'chrome',
            publicKey: REALITY_NODE.reality?.publicKey,
            shortId: '6ba85179e30d4fc2',
            spiderX: '',
          },
        },
      },
      { tag: 'direct', protocol: 'freedom', settings: {} },
    ]);
    expect(doc.remarks).toBe('keyd-alice');
  });

  it('balances over one outbound per node, with TLS settings for a TLS node', () => {
    const doc = buildXrayJson(subscriptionKey({ nodes: [REALITY_NODE, TLS_WS_NODE] }), { title: 'keyd' });
    expect(doc.outbounds[1]).toMatchObject({
      tag: 'proxy-2',
      streamSettings: { network: 'ws', security: 'tls', tlsSettings: { serverName: 'de.example.com' } },
    });
    expect(doc.routing.balancers).toEqual([{ tag: 'proxy', selector: ['proxy-1', 'proxy-2'] }]);
    expect(doc.routing.rules).toEqual([{ type: 'field', network: 'tcp,udp', balancerTag: 'proxy' }]);
    expect(doc.remarks).toBe('keyd');
  });

  it('says why a stopped key stopped in its remarks', () => {
    const doc = buildXrayJson(subscriptionKey({ status: 'SUSPENDED' }), { title: 'keyd' });
    expect(doc.remarks).toBe('keyd-alice (data limit reached)');
  });
});
