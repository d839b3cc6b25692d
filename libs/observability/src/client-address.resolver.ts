import * as ipaddr from 'ipaddr.js';
import proxyaddr from 'proxy-addr';

/**
 * The key a client is counted under: its IPv4 address, or the /64 of its IPv6
 * address, since one subscriber usually holds a whole /64 and could otherwise
 * rotate through 2^64 addresses. IPv4-mapped IPv6 counts as the IPv4 address.
 */
export function clientKey(address: string | undefined): string {
  if (!address || !ipaddr.isValid(address)) return 'unknown';
  let ip = ipaddr.parse(address);
  if (ip instanceof ipaddr.IPv6 && ip.isIPv4MappedAddress()) ip = ip.toIPv4Address();
  if (ip instanceof ipaddr.IPv4) return ip.toString();
  const prefix = ip.parts.slice(0, 4).map((part) => part.toString(16));
  return `${prefix.join(':')}::/64`;
}

/** What of a request the client's address is read from. */
export interface ForwardedRequest {
  socket: { remoteAddress?: string };
  headers: Record<string, string | string[] | undefined>;
}

/**
 * Who a request comes from. X-Forwarded-For is read only when the connection's
 * peer is a trusted proxy, and then from the right: the first address that is
 * not itself a trusted proxy is the client, so entries a client wrote on the
 * left cannot pick its identity.
 */
export class ClientAddresses {
  private readonly trust: (address: string, hop: number) => boolean;

  /** trusted: addresses, CIDRs, or proxy-addr's named ranges (loopback, linklocal, uniquelocal). */
  constructor(trusted: readonly string[]) {
    this.trust = trusted.length ? proxyaddr.compile([...trusted]) : () => false;
  }

  isTrustedProxy(address: string | undefined): boolean {
    return address !== undefined && this.trust(address, 0);
  }

  /** req is an HTTP request: its socket's peer and its headers. */
  of(req: ForwardedRequest): string {
    const peer = { remoteAddress: req.socket.remoteAddress };
    return proxyaddr(
      { connection: peer, socket: peer, headers: req.headers } as Parameters<typeof proxyaddr>[0],
      this.trust,
    );
  }
}
