/** A client address and port the core accepted for a user, and when the log last named it. */
export interface Endpoint {
  email: string;
  ip: string;
  port: number;
  seenAt: number;
}

export interface SessionTableLimits {
  /** Endpoints kept in all; the least recently seen goes first. */
  maxEndpoints: number;
  /** Endpoints kept per email; a user's least recently seen goes first. */
  maxPerEmail: number;
}

export const endpointKey = (ip: string, port: number): string => `${ip}|${port}`;

/**
 * Which user owns each recently accepted client endpoint. Bounded whatever the
 * log holds: Map insertion order is the recency order, so evicting the oldest
 * is O(1). An endpoint belongs to the last user the core accepted it for: a
 * client port reused behind a NAT moves to its new owner, so cutting one user
 * never reaches a socket the log has since given to another.
 */
export class SessionTable {
  private readonly byEndpoint = new Map<string, Endpoint>();
  private readonly byEmail = new Map<string, Map<string, Endpoint>>();

  constructor(private readonly limits: SessionTableLimits) {}

  get size(): number {
    return this.byEndpoint.size;
  }

  get emails(): number {
    return this.byEmail.size;
  }

  record(email: string, ip: string, port: number, now: number): void {
    const key = endpointKey(ip, port);
    this.remove(key);
    const endpoint: Endpoint = { email, ip, port, seenAt: now };
    this.byEndpoint.set(key, endpoint);
    let own = this.byEmail.get(email);
    if (!own) this.byEmail.set(email, (own = new Map()));
    own.set(key, endpoint);
    if (own.size > this.limits.maxPerEmail) this.remove(own.keys().next().value as string);
    if (this.byEndpoint.size > this.limits.maxEndpoints) this.remove(this.byEndpoint.keys().next().value as string);
  }

  ownerOf(ip: string, port: number): string | undefined {
    return this.byEndpoint.get(endpointKey(ip, port))?.email;
  }

  endpointsOf(email: string): Endpoint[] {
    return [...(this.byEmail.get(email)?.values() ?? [])];
  }

  /** Drops endpoints seen before `before` that `isLive` no longer finds among the open sockets. */
  prune(before: number, isLive: (e: Endpoint) => boolean): number {
    let dropped = 0;
    for (const [key, e] of this.byEndpoint) {
      if (e.seenAt >= before || isLive(e)) continue;
      this.remove(key);
      dropped++;
    }
    return dropped;
  }

  forgetEndpoint(ip: string, port: number): void {
    this.remove(endpointKey(ip, port));
  }

  private remove(key: string): void {
    const e = this.byEndpoint.get(key);
    if (!e) return;
    this.byEndpoint.delete(key);
    const own = this.byEmail.get(e.email);
    own?.delete(key);
    if (own?.size === 0) this.byEmail.delete(e.email);
  }
}
