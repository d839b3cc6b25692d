import { createLogger } from '@keyd/observability';
import { KeyRepository } from '@keyd/store';
import { ExpiryScheduler } from './expiry.scheduler';

// Reads Date, which the fake timers move.
const fakeTimersClock = { now: () => new Date(Date.now()) };

describe('ExpiryScheduler', () => {
  beforeEach(() => jest.useFakeTimers({ now: Date.parse('2030-01-01T00:00:00Z') }));
  afterEach(() => jest.useRealTimers());

  it('backs off while the expiry run keeps failing, instead of firing again at once', async () => {
    const due = new Date(Date.now() - 1000);
    // A key stays due for as long as the run that would expire it fails.
    const keys = { nextExpiry: () => Promise.resolve(due) } as unknown as KeyRepository;
    const scheduler = new ExpiryScheduler(keys, fakeTimersClock, createLogger('silent', false));
    let runs = 0;
    await scheduler.start(() => {
      runs++;
      return Promise.reject(new Error('SQLITE_FULL: database or disk is full'));
    });

    // 0.5 + 1 + 2 + 4 s of backoff fit in 7.6 s; without it the timer fires on every tick.
    for (let i = 0; i < 76; i++) await jest.advanceTimersByTimeAsync(100);
    expect(runs).toBe(5);
    scheduler.onModuleDestroy();
  });
});
