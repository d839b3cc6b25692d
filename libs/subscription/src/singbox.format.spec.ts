import { buildSingBox } from './singbox.format';
import { checkSingBox } from './testing/client-schemas.validator';
import { REALITY_NODE, subscriptionKey, TLS_WS_NODE } from './testing/subscription-key.fixture';

type Doc = NonNullable<ReturnType<typeof buildSingBox>>;
const outbound = (doc: Doc, type: string) =>
  (doc.outbounds ?? []).filter((o) => o.type === type) as Record<string, unknown>[];

describe('sing-box profile', () => {
  it("is valid for sing-box's schema and carries the key's REALITY parameters", () => {
    const doc = buildSingBox(subscriptionKey(), { title: 'keyd' }) as Doc;
    expect(checkSingBox(doc)).toEqual({ valid: true, errors: [] });
    expect(outbound(doc, 'vless')).toEqual([
      {
        type: 'vless',
        tag: 'keyd-alice',
        server: 'vpn.example.com',
        server_port: 443,
        uuid: '0f3c2f4e-5d1a-4b7e-9c1d-2a3b4c5d6e7f',
        flow: 'xtls-rprx-vision',
        tls: {
          enabled: true,
          server_name: 'www.microsoft.com',
          utls: { enabled: true, fingerprint: 'chrome' },
          reality: { enabled: true, public_key: REALITY_NODE.reality?.publicKey, short_id: '6ba85179e30d4fc2' },
        },
      },
    ]);
    expect(doc.inbounds).toEqual([{ type: 'mixed', tag: 'mixed-in', listen: '127.0.0.1', listen_port: 2080 }]);
    expect(outbound(doc, 'direct')).toHaveLength(1);
  });

  it('routes everything to a selector over a urltest and every node, one outbound per node', () => {
    const doc = buildSingBox(subscriptionKey({ nodes: [REALITY_NODE, TLS_WS_NODE] }), { title: 'keyd' }) as Doc;
    expect(checkSingBox(doc).errors).toEqual([]);
    const vless = outbound(doc, 'vless');
    expect(vless.map((o) => o.tag)).toEqual(['keyd-alice', 'keyd-alice 2']);
    expect(vless[1]).toMatchObject({
      server: 'de.example.com',
      tls: { server_name: 'de.example.com' },
      transport: { type: 'ws' },
    });
    expect((vless[1]?.tls as Record<string, unknown>).reality).toBeUndefined();
    const [selector] = outbound(doc, 'selector');
    const [urltest] = outbound(doc, 'urltest');
    expect(urltest?.outbounds).toEqual(['keyd-alice', 'keyd-alice 2']);
    expect(selector?.outbounds).toEqual([urltest?.tag, 'keyd-alice', 'keyd-alice 2']);
    expect(doc.route?.final).toBe(selector?.tag);
  });

  it('names the reason in the outbound of a stopped key, and stays valid', () => {
    const doc = buildSingBox(
      subscriptionKey({ status: 'EXPIRED', subscriptionEnd: new Date('2026-11-30T10:00:00Z') }),
      {
        title: 'keyd',
      },
    ) as Doc;
    expect(checkSingBox(doc).errors).toEqual([]);
    expect(outbound(doc, 'vless')[0]?.tag).toBe('keyd-alice (expired on 2026-11-30)');
  });

  it('leaves out nodes whose transport sing-box lacks, and has no profile when none is left', () => {
    const xhttp = { ...TLS_WS_NODE, transport: 'xhttp' };
    const doc = buildSingBox(subscriptionKey({ nodes: [xhttp, REALITY_NODE] }), { title: 'keyd' }) as Doc;
    expect(outbound(doc, 'vless').map((o) => o.server)).toEqual(['vpn.example.com']);
    expect(buildSingBox(subscriptionKey({ nodes: [xhttp] }), { title: 'keyd' })).toBeNull();
  });

  it('keeps tags unique when a node is named like the selector', () => {
    const doc = buildSingBox(subscriptionKey({ nodes: [{ ...REALITY_NODE, remark: 'keyd' }] }), {
      title: 'keyd',
    }) as Doc;
    const tags = (doc.outbounds ?? []).map((o) => (o as { tag?: string }).tag);
    expect(new Set(tags).size).toBe(tags.length);
    expect(checkSingBox(doc).errors).toEqual([]);
  });
});
