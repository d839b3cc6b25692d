/** A client address that used a key: when the access log first named it, and when it was last seen connected. */
export interface Device {
  address: string;
  firstSeen: number;
  lastSeen: number;
}

export interface DeviceTableLimits {
  /** Keys whose devices are kept; the least recently active goes first. */
  maxEmails: number;
  /** Addresses kept per key; the least recently seen goes first. */
  maxPerEmail: number;
}

/**
 * The client addresses each key was used from recently. A device counts while
 * it was seen within the window; what keeps a long-lived connection's address
 * counted is the owner touching it while the connection stays open. Bounded
 * whatever the log holds: Map insertion order is the recency order.
 */
export class DeviceTable {
  private readonly byEmail = new Map<string, Map<string, Device>>();

  constructor(private readonly limits: DeviceTableLimits) {}

  get emails(): number {
    return this.byEmail.size;
  }

  /** The addresses seen at or after `since`, oldest first. */
  current(email: string, since: number): Device[] {
    return [...(this.byEmail.get(email)?.values() ?? [])].filter((d) => d.lastSeen >= since);
  }

  /** Whether `address` is kept for the key, however long ago it was seen. */
  has(email: string, address: string): boolean {
    return this.byEmail.get(email)?.has(address) ?? false;
  }

  isCurrent(email: string, address: string, since: number): boolean {
    const d = this.byEmail.get(email)?.get(address);
    return d !== undefined && d.lastSeen >= since;
  }

  /** Records `address` as seen now; a new address, or one whose window had passed, starts over. */
  touch(email: string, address: string, now: number, since: number): void {
    let own = this.byEmail.get(email);
    if (own) this.byEmail.delete(email);
    else own = new Map();
    this.byEmail.set(email, own);
    const known = own.get(address);
    own.delete(address);
    own.set(address, { address, firstSeen: known && known.lastSeen >= since ? known.firstSeen : now, lastSeen: now });
    if (own.size > this.limits.maxPerEmail) own.delete(own.keys().next().value as string);
    if (this.byEmail.size > this.limits.maxEmails) this.byEmail.delete(this.byEmail.keys().next().value as string);
  }

  /** Drops the addresses last seen before `before`. */
  expire(before: number): void {
    for (const [email, own] of this.byEmail) {
      for (const [address, d] of own) if (d.lastSeen < before) own.delete(address);
      if (own.size === 0) this.byEmail.delete(email);
    }
  }

  forget(email: string): void {
    this.byEmail.delete(email);
  }
}
