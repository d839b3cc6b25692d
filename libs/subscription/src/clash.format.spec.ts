import { parse } from 'yaml';
import { buildClash } from './clash.format';
import { checkClash } from './testing/client-schemas.validator';
import { REALITY_NODE, subscriptionKey, TLS_WS_NODE } from './testing/subscription-key.fixture';

interface Parsed {
  proxies: Record<string, unknown>[];
  'proxy-groups': { name: string; type: string; proxies: string[] }[];
  rules: string[];
}
const parsed = (text: string | null) => parse(text ?? '') as Parsed;

describe('Clash Meta (mihomo) profile', () => {
  it("parses as YAML valid for mihomo's schema, with the key's REALITY proxy", () => {
    const doc = parsed(buildClash(subscriptionKey(), { title: 'keyd' }));
    expect(checkClash(doc)).toEqual({ valid: true, errors: [] });
    expect(doc.proxies).toEqual([
      {
        name: 'keyd-alice',
        type: 'vless',
        server: 'vpn.example.com',
        port: 443,
        uuid: '0f3c2f4e-5d1a-4b7e-9c1d-2a3b4c5d6e7f',
        udp: true,
        flow: 'xtls-rprx-vision',
        tls: true,
        servername: 'www.microsoft.com',
        'client-fingerprint': 'chrome',
        'reality-opts': { 'public-key': REALITY_NODE.reality?.publicKey, 'short-id': '6ba85179e30d4fc2' },
        network: 'tcp',
      },
    ]);
  });

  it('sends everything to one select group over every node', () => {
    const doc = parsed(buildClash(subscriptionKey({ nodes: [REALITY_NODE, TLS_WS_NODE] }), { title: 'My, VPN' }));
    expect(checkClash(doc).errors).toEqual([]);
    expect(doc.proxies.map((p) => p.name)).toEqual(['keyd-alice', 'keyd-alice 2']);
    expect(doc.proxies[1]).toMatchObject({ network: 'ws', tls: true, servername: 'de.example.com' });
    expect(doc.proxies[1]?.['reality-opts']).toBeUndefined();
    expect(doc['proxy-groups']).toEqual([{ name: 'My  VPN', type: 'select', proxies: ['keyd-alice', 'keyd-alice 2'] }]);
    expect(doc.rules).toEqual(['MATCH,My  VPN']);
  });

  it('keeps hostile names inside their YAML strings', () => {
    const nasty = 'x\n- name: injected\n  type: direct\n\'"#: {}';
    const doc = parsed(buildClash(subscriptionKey({ nodes: [{ ...REALITY_NODE, remark: nasty }] }), { title: 'keyd' }));
    expect(doc.proxies).toHaveLength(1);
    expect(doc.proxies[0]?.name).toBe(nasty);
  });

  it('maps httpupgrade to the upgrade mode of ws, names the reason of a stopped key, and drops mKCP', () => {
    const upgrade = { ...TLS_WS_NODE, transport: 'httpupgrade' };
    const doc = parsed(buildClash(subscriptionKey({ status: 'SUSPENDED', nodes: [upgrade] }), { title: 'keyd' }));
    expect(checkClash(doc).errors).toEqual([]);
    expect(doc.proxies[0]).toMatchObject({
      name: 'keyd-alice (data limit reached)',
      network: 'ws',
      'ws-opts': { 'v2ray-http-upgrade': true },
    });
    expect(
      buildClash(subscriptionKey({ nodes: [{ ...TLS_WS_NODE, transport: 'kcp' }] }), { title: 'keyd' }),
    ).toBeNull();
  });
});
