import fc from 'fast-check';
import { UsageBaseline } from '@keyd/store';
import {
  BOOT_SLACK_MS,
  counterDelta,
  coreRestarted,
  parseUserCounters,
  periodStart,
  periodStarts,
  usageDeltas,
} from './usage.math';

type Step = { kind: 'traffic'; bytes: number } | { kind: 'poll' } | { kind: 'crashed-poll' } | { kind: 'restart' };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.integer({ min: 0, max: 1_000_000 }).map((bytes) => ({ kind: 'traffic' as const, bytes })),
  },
  { weight: 3, arbitrary: fc.constant({ kind: 'poll' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'crashed-poll' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
);

/**
 * A core counter and keyd's persisted baseline, driven through traffic, polls,
 * polls whose transaction never committed, and core restarts (which keyd
 * detects from uptime and answers by clearing every baseline).
 */
function simulate(steps: Step[], detectRestarts: boolean) {
  let counter = 0;
  let baseline: number | null = null;
  let restartedSincePoll = false;
  let counted = 0;
  let sent = 0;
  // Bytes a core counted and then lost by restarting before any poll read them: nobody can count those.
  let unobservable = 0;
  let readThisEpoch = 0;
  for (const s of steps) {
    if (s.kind === 'traffic') {
      counter += s.bytes;
      sent += s.bytes;
    } else if (s.kind === 'poll' || s.kind === 'crashed-poll') {
      const delta = counterDelta(baseline, counter, detectRestarts && restartedSincePoll);
      if (s.kind === 'poll') {
        counted += delta;
        baseline = counter;
        readThisEpoch = counter;
        restartedSincePoll = false;
      }
    } else {
      unobservable += counter - readThisEpoch;
      counter = 0;
      readThisEpoch = 0;
      restartedSincePoll = true;
      if (detectRestarts) baseline = null;
    }
  }
  counted += counterDelta(baseline, counter, detectRestarts && restartedSincePoll);
  return { counted, sent, unobservable };
}

describe('counterDelta', () => {
  it('counts every byte the core reported exactly once, across restarts and polls that never committed', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const { counted, sent, unobservable } = simulate(steps, true);
        expect(counted).toBe(sent - unobservable);
      }),
      { numRuns: 2000 },
    );
  });

  it('never counts a byte twice, even when a restart goes unnoticed', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const { counted, sent } = simulate(steps, false);
        expect(counted).toBeLessThanOrEqual(sent);
      }),
      { numRuns: 2000 },
    );
  });

  it('treats a counter that went backwards as restarted from zero', () => {
    expect(counterDelta(5000, 1200, false)).toBe(1200);
    expect(counterDelta(5000, 7000, false)).toBe(2000);
    expect(counterDelta(null, 7000, false)).toBe(7000);
    expect(counterDelta(5000, 7000, true)).toBe(7000);
  });
});

describe('coreRestarted', () => {
  const t0 = new Date('2026-11-28T12:00:00Z');
  const previous = { uptimeSeconds: 600, bootAt: new Date(t0.getTime() - 600_000), polledAt: t0 };

  it('sees uptime going backwards', () => {
    expect(coreRestarted(previous, 5, new Date(t0.getTime() + 15_000))).toBe(true);
  });

  it('sees a core that booted after the previous one, even with a longer uptime', () => {
    const later = new Date(t0.getTime() + 3_600_000);
    expect(coreRestarted(previous, 1_200, later)).toBe(true);
  });

  it('does not mistake the same core for a new one, whatever the polling rhythm and clock jitter', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000_000 }),
        fc.integer({ min: -BOOT_SLACK_MS + 1000, max: BOOT_SLACK_MS - 1000 }),
        (elapsedS, jitterMs) => {
          const now = new Date(t0.getTime() + elapsedS * 1000 + jitterMs);
          expect(coreRestarted(previous, previous.uptimeSeconds + elapsedS, now)).toBe(false);
        },
      ),
    );
  });

  it('has nothing to compare on the first poll', () => {
    expect(coreRestarted(null, 1, t0)).toBe(false);
  });
});

describe('parseUserCounters', () => {
  it('keeps user traffic counters by email and ignores the rest', () => {
    const readings = parseUserCounters([
      { name: 'user>>>a.1@x>>>traffic>>>uplink', value: 10 },
      { name: 'user>>>a.1@x>>>traffic>>>downlink', value: 20 },
      { name: 'user>>>B.2>>>traffic>>>downlink', value: 5 },
      { name: 'inbound>>>vless-in>>>traffic>>>uplink', value: 99 },
      { name: 'user>>>>>>traffic>>>uplink', value: 1 },
    ]);
    expect(Object.fromEntries(readings)).toEqual({ 'a.1@x': { uplink: 10, downlink: 20 }, 'b.2': { downlink: 5 } });
  });
});

describe('usageDeltas', () => {
  const base = (keyId: number, email: string, up: number | null, down: number | null): UsageBaseline => ({
    keyId,
    email,
    rawUplink: up,
    rawDownlink: down,
  });

  it('leaves out keys whose counters did not move and keys the core does not report', () => {
    const deltas = usageDeltas(
      [base(1, 'a', 100, 200), base(2, 'b', 100, 200), base(3, 'c', null, null)],
      new Map([
        ['a', { uplink: 100, downlink: 200 }],
        ['b', { uplink: 150, downlink: 200 }],
      ]),
      false,
    );
    expect(deltas).toEqual([{ keyId: 2, uplink: 50, downlink: 0, rawUplink: 150, rawDownlink: 200 }]);
  });

  it('counts lazily created counters from zero, one direction at a time', () => {
    const deltas = usageDeltas([base(1, 'a', null, null)], new Map([['a', { downlink: 42 }]]), false);
    expect(deltas).toEqual([{ keyId: 1, uplink: 0, downlink: 42, rawUplink: null, rawDownlink: 42 }]);
  });
});

describe('periodStarts', () => {
  it('gives the UTC midnight of the day, of the Monday of the week and of the 1st of the month', () => {
    const p = periodStarts(new Date('2026-11-28T21:30:00Z'));
    expect(p.day.toISOString()).toBe('2026-11-28T00:00:00.000Z');
    expect(p.week.toISOString()).toBe('2026-11-23T00:00:00.000Z');
    expect(p.month.toISOString()).toBe('2026-11-01T00:00:00.000Z');
    expect(periodStart('none', new Date())).toBeNull();
  });

  it('always starts at or before now, at midnight, with weeks on Mondays', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01') }), (now) => {
        const p = periodStarts(now);
        for (const [span, start] of [
          [86_400_000, p.day],
          [7 * 86_400_000, p.week],
          [31 * 86_400_000, p.month],
        ] as const) {
          expect(start.getTime()).toBeLessThanOrEqual(now.getTime());
          expect(now.getTime() - start.getTime()).toBeLessThan(span);
          expect(start.getTime() % 86_400_000).toBe(0);
        }
        expect(p.week.getUTCDay()).toBe(1);
        expect(p.month.getUTCDate()).toBe(1);
      }),
    );
  });
});
