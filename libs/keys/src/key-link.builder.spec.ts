import { KeydConfig } from '@keyd/config';
import { KeyLinkBuilder } from './key-link.builder';

const UUID = '11111111-2222-4333-8444-555555555555';
const base: KeydConfig['link'] = { host: 'vpn.example.com', port: 443, security: 'none', type: 'tcp', name: 'keyd' };
const parse = (link: string) => {
  const url = new URL(link);
  return { url, params: Object.fromEntries(url.searchParams), name: decodeURIComponent(url.hash.slice(1)) };
};

describe('KeyLinkBuilder', () => {
  const key = { uuid: UUID, flow: '', ownerId: 'alice' };

  it('builds a plain link with no security parameters and no flow', () => {
    const { url, params } = parse(new KeyLinkBuilder({ link: base }).vlessUrl(key));
    expect(url.protocol).toBe('vless:');
    expect(url.username).toBe(UUID);
    expect(url.host).toBe('vpn.example.com:443');
    expect(params).toEqual({ type: 'tcp', encryption: 'none', security: 'none' });
  });

  it('adds the reality parameters and the flow', () => {
    const link: KeydConfig['link'] = {
      ...base,
      security: 'reality',
      type: 'grpc',
      reality: { publicKey: 'P'.repeat(43), shortId: 'ab12', sni: 'www.example.org', fingerprint: 'firefox' },
    };
    const { params } = parse(new KeyLinkBuilder({ link }).vlessUrl({ ...key, flow: 'xtls-rprx-vision' }));
    expect(params).toEqual({
      type: 'grpc',
      encryption: 'none',
      security: 'reality',
      pbk: 'P'.repeat(43),
      sid: 'ab12',
      sni: 'www.example.org',
      fp: 'firefox',
      flow: 'xtls-rprx-vision',
    });
  });

  it('uses the TLS SNI when set, else the public host', () => {
    const tls = { ...base, security: 'tls' as const, type: 'ws' as const };
    expect(parse(new KeyLinkBuilder({ link: tls }).vlessUrl(key)).params).toEqual({
      type: 'ws',
      encryption: 'none',
      security: 'tls',
      sni: 'vpn.example.com',
    });
    expect(parse(new KeyLinkBuilder({ link: { ...tls, tlsSni: 'cdn.example.net' } }).vlessUrl(key)).params.sni).toBe(
      'cdn.example.net',
    );
  });

  it('URL-encodes the name and brackets an IPv6 host', () => {
    const link = new KeyLinkBuilder({ link: { ...base, host: '2001:db8::1', name: 'my vpn#1' } }).vlessUrl({
      ...key,
      ownerId: 'bob&co/é',
    });
    expect(link).toContain('@[2001:db8::1]:443?');
    const hash = link.slice(link.indexOf('#') + 1);
    expect(hash).not.toMatch(/[ #&/é]/);
    expect(decodeURIComponent(hash)).toBe('my vpn#1-bob&co/é');
  });
});
