import * as fc from 'fast-check';
import { SessionTable } from './session.table';

describe('SessionTable', () => {
  it('keeps each user its own endpoints, and gives a reused endpoint to its latest owner', () => {
    const t = new SessionTable({ maxEndpoints: 100, maxPerEmail: 10 });
    t.record('a', '127.0.0.2', 1000, 1);
    t.record('b', '127.0.0.2', 1001, 1);
    t.record('a', '127.0.0.3', 1000, 2);
    expect(t.endpointsOf('a').map((e) => `${e.ip}:${e.port}`)).toEqual(['127.0.0.2:1000', '127.0.0.3:1000']);
    expect(t.endpointsOf('b').map((e) => `${e.ip}:${e.port}`)).toEqual(['127.0.0.2:1001']);
    // The same client port, later accepted for b (a NAT reusing it), is no longer a's to cut.
    t.record('b', '127.0.0.2', 1000, 3);
    expect(t.endpointsOf('a').map((e) => `${e.ip}:${e.port}`)).toEqual(['127.0.0.3:1000']);
    expect(t.endpointsOf('b')).toHaveLength(2);
  });

  it('evicts a user’s least recently seen endpoint beyond the per-user cap', () => {
    const t = new SessionTable({ maxEndpoints: 100, maxPerEmail: 3 });
    for (let p = 1; p <= 4; p++) t.record('a', '10.0.0.1', p, p);
    t.record('a', '10.0.0.1', 2, 5); // seen again: now the most recent
    t.record('a', '10.0.0.1', 5, 6);
    expect(t.endpointsOf('a').map((e) => e.port)).toEqual([4, 2, 5]);
  });

  it('stays within its caps at 100k users, however many lines arrive', () => {
    const t = new SessionTable({ maxEndpoints: 50_000, maxPerEmail: 4 });
    for (let round = 0; round < 3; round++)
      for (let u = 0; u < 100_000; u++)
        t.record(`user${u}`, `10.${u >> 16}.${(u >> 8) & 255}.${u & 255}`, 1000 + round, u);
    expect(t.size).toBe(50_000);
    expect(t.emails).toBeLessThanOrEqual(50_000);
    // The most recent lines are the ones kept: the last round's second half.
    expect(t.endpointsOf('user99999').map((e) => e.port)).toEqual([1002]);
    expect(t.endpointsOf('user50000').map((e) => e.port)).toEqual([1002]);
    expect(t.endpointsOf('user49999')).toEqual([]);
  });

  it('prunes endpoints neither recent nor open', () => {
    const t = new SessionTable({ maxEndpoints: 100, maxPerEmail: 10 });
    t.record('a', '10.0.0.1', 1, 100);
    t.record('a', '10.0.0.1', 2, 100);
    t.record('a', '10.0.0.1', 3, 500);
    expect(t.prune(400, (e) => e.port === 2)).toBe(1);
    expect(t.endpointsOf('a').map((e) => e.port)).toEqual([2, 3]);
  });

  it('its two indexes always agree (random operations)', () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('rec' as const),
        email: fc.constantFrom('a', 'b', 'c', 'd'),
        port: fc.integer({ min: 1, max: 8 }),
      }),
      fc.record({ kind: fc.constant('forget' as const), port: fc.integer({ min: 1, max: 8 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const t = new SessionTable({ maxEndpoints: 6, maxPerEmail: 3 });
        const owner = new Map<number, string>();
        ops.forEach((o, i) => {
          if (o.kind === 'rec') {
            t.record(o.email, '10.0.0.1', o.port, i);
            owner.set(o.port, o.email);
          } else {
            t.forgetEndpoint('10.0.0.1', o.port);
            owner.delete(o.port);
          }
        });
        const all = ['a', 'b', 'c', 'd'].flatMap((e) => t.endpointsOf(e));
        expect(all).toHaveLength(t.size);
        expect(t.size).toBeLessThanOrEqual(6);
        for (const e of all) expect(owner.get(e.port)).toBe(e.email);
        for (const e of ['a', 'b', 'c', 'd']) expect(t.endpointsOf(e).length).toBeLessThanOrEqual(3);
      }),
    );
  });
});
