import { RateLimiter } from './rate.limiter';

describe('RateLimiter', () => {
  let now = 0;
  const clock = () => now;

  beforeEach(() => (now = 1_000_000));

  it('allows a burst, then refuses until tokens refill at the configured rate', () => {
    const limiter = new RateLimiter(60, 3, clock);
    expect([1, 2, 3, 4].map(() => limiter.take('a'))).toEqual([true, true, true, false]);
    now += 999;
    expect(limiter.take('a')).toBe(false);
    now += 1;
    expect(limiter.take('a')).toBe(true);
  });

  it('keeps clients apart', () => {
    const limiter = new RateLimiter(60, 1, clock);
    expect(limiter.take('a')).toBe(true);
    expect(limiter.take('a')).toBe(false);
    expect(limiter.take('b')).toBe(true);
  });

  it('bounds the number of tracked clients', () => {
    const limiter = new RateLimiter(60, 2, clock, 100);
    for (let i = 0; i < 1000; i++) limiter.take(`c${i}`);
    expect((limiter as unknown as { buckets: Map<string, unknown> }).buckets.size).toBeLessThanOrEqual(100);
    // The most recent client is still limited, not forgotten.
    expect(limiter.take('c999')).toBe(true);
    expect(limiter.take('c999')).toBe(false);
  });
});
