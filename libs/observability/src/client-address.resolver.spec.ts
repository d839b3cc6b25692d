import { ClientAddresses, clientKey, ForwardedRequest } from './client-address.resolver';

function request(remoteAddress: string, forwardedFor?: string): ForwardedRequest {
  return { socket: { remoteAddress }, headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor } };
}

describe('clientKey', () => {
  it('counts every address of one IPv6 /64 as one client', () => {
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8:1:2:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:0db8:0001:0002::')).toBe('2001:db8:1:2::/64');
  });

  it('keeps neighbouring /64s apart', () => {
    expect(clientKey('2001:db8:1:3::1')).not.toBe(clientKey('2001:db8:1:2::1'));
  });

  it('counts IPv4 per address, and IPv4-mapped IPv6 as that IPv4 address', () => {
    expect(clientKey('203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('203.0.113.8')).not.toBe(clientKey('203.0.113.7'));
  });

  it('puts what is not an address under one key', () => {
    expect(clientKey(undefined)).toBe('unknown');
    expect(clientKey('not-an-ip')).toBe('unknown');
  });
});

describe('ClientAddresses', () => {
  it('ignores X-Forwarded-For when no proxy is trusted', () => {
    expect(new ClientAddresses([]).of(request('198.51.100.1', '203.0.113.9'))).toBe('198.51.100.1');
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', () => {
    const clients = new ClientAddresses(['10.0.0.0/8']);
    expect(clients.of(request('198.51.100.1', '203.0.113.9'))).toBe('198.51.100.1');
  });

  it('takes the rightmost untrusted entry from a trusted proxy, so a client cannot pick its identity', () => {
    const clients = new ClientAddresses(['10.0.0.0/8', '192.0.2.1']);
    expect(clients.of(request('10.1.1.1', '203.0.113.9'))).toBe('203.0.113.9');
    expect(clients.of(request('10.1.1.1', '1.1.1.1, 203.0.113.9'))).toBe('203.0.113.9');
    // Proxies in front of the trusted one are skipped when trusted too.
    expect(clients.of(request('10.1.1.1', '1.1.1.1, 203.0.113.9, 192.0.2.1, 10.2.2.2'))).toBe('203.0.113.9');
  });

  it('falls back to the proxy itself when it sends no X-Forwarded-For', () => {
    expect(new ClientAddresses(['10.0.0.0/8']).of(request('10.1.1.1'))).toBe('10.1.1.1');
  });

  it('says which peers are trusted proxies', () => {
    const clients = new ClientAddresses(['10.0.0.0/8', '2001:db8::/32']);
    expect(clients.isTrustedProxy('10.9.9.9')).toBe(true);
    expect(clients.isTrustedProxy('2001:db8::5')).toBe(true);
    expect(clients.isTrustedProxy('11.0.0.1')).toBe(false);
    expect(clients.isTrustedProxy(undefined)).toBe(false);
  });
});
