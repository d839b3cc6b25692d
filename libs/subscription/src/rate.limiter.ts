interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per client address: `perMinute` requests a minute on average,
 * with bursts up to `burst`. Idle buckets are dropped so that a scan from many
 * addresses cannot grow the map without bound.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly ratePerMs: number;

  constructor(
    perMinute: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
    private readonly maxClients = 100_000,
  ) {
    this.ratePerMs = perMinute / 60_000;
  }

  /** True when the request may proceed. */
  take(client: string): boolean {
    const now = this.now();
    const b = this.buckets.get(client) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + (now - b.at) * this.ratePerMs);
    b.at = now;
    const allowed = b.tokens >= 1;
    if (allowed) b.tokens -= 1;
    this.buckets.delete(client);
    this.buckets.set(client, b);
    if (this.buckets.size > this.maxClients) this.evict(now);
    return allowed;
  }

  private evict(now: number): void {
    for (const [client, b] of this.buckets) {
      const full = b.tokens + (now - b.at) * this.ratePerMs >= this.burst;
      if (full || this.buckets.size > this.maxClients) this.buckets.delete(client);
      if (this.buckets.size <= this.maxClients * 0.9) return;
    }
  }
}
