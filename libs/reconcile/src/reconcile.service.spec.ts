import { ReconcileReport } from './reconcile.types';
import { ManualClock } from './testing/manual.clock';
import { emailsOf, ReconcileHarness, TAG } from './testing/reconcile.harness';

const T0 = Date.parse('2030-01-01T00:00:00Z');

const counts = (r: ReconcileReport) => ({
  added: r.added,
  removed: r.removed,
  expired: r.expired,
  failed: r.failed,
  unknownRemoved: r.unknownRemoved,
});

describe('ReconcileService against a core that cannot list its users', () => {
  let h: ReconcileHarness;
  let clock: ManualClock;

  beforeEach(async () => {
    clock = new ManualClock(T0);
    h = await ReconcileHarness.start({ clock, flavor: 'v2ray' });
  });
  afterEach(() => h.close());

  it('pushes a pending ACTIVE key, removes a pending REVOKED one, and marks both provisioned', async () => {
    await h.grant('bob');
    const alice = await h.grantPending('alice');
    const bob = await h.revokePending('bob');
    expect([alice.provisioned, bob.provisioned]).toEqual([false, false]);
    expect(h.coreEmails()).toEqual([bob.email]);

    const report = await h.reconcile.run({ reason: 'test' });

    expect(counts(report)).toEqual({ added: 1, removed: 1, expired: 0, failed: 0, unknownRemoved: 0 });
    expect(h.coreEmails()).toEqual([alice.email]);
    expect((await h.key(alice.id)).provisioned).toBe(true);
    expect((await h.key(bob.id)).provisioned).toBe(true);
    await expect(h.keys.countPending()).resolves.toBe(0);

    // Converged: the next pass has nothing to push.
    const calls = h.fake.calls.length;
    const again = await h.reconcile.run({ reason: 'test' });
    expect(counts(again)).toEqual({ added: 0, removed: 0, expired: 0, failed: 0, unknownRemoved: 0 });
    expect(h.alterCallsSince(calls)).toEqual({ adds: 0, removes: 0 });
  });

  it("detects a restart by the core's uptime going backwards and re-adds every active key (full recovery)", async () => {
    const granted = [];
    for (const owner of ['a', 'b', 'c', 'd', 'e']) granted.push(await h.grant(owner));
    await h.revoke('e');
    h.fake.setUptime(500);
    await h.reconcile.run({ reason: 'startup' });
    const recover = jest.spyOn(h.recovery, 'recover');

    h.fake.restart();
    expect(h.coreEmails()).toEqual([]);
    const report = await h.reconcile.run({ reason: 'periodic' });

    expect(report.coreRestartDetected).toBe(true);
    expect(h.monitor.restartsDetected).toBe(1);
    expect(recover).toHaveBeenCalledTimes(1);
    await expect(recover.mock.results[0].value).resolves.toMatchObject({ mode: 'full', failed: 0 });
    expect(counts(report)).toEqual({ added: 4, removed: 0, expired: 0, failed: 0, unknownRemoved: 0 });
    expect(h.coreEmails()).toEqual(emailsOf(granted.slice(0, 4)));
  });

  it('does not touch a core that did not restart', async () => {
    for (const owner of ['a', 'b', 'c']) await h.grant(owner);
    h.fake.setUptime(500);
    await h.reconcile.run({ reason: 'startup' });
    h.fake.setUptime(530);
    const calls = h.fake.calls.length;

    const report = await h.reconcile.run({ reason: 'periodic' });

    expect(report.coreRestartDetected).toBe(false);
    expect(h.alterCallsSince(calls)).toEqual({ adds: 0, removes: 0 });
  });

  it('dry run changes neither the core nor the database, and reports what the real pass then does', async () => {
    await h.grant('short', 60);
    await h.grant('revoked');
    await h.grant('steady');
    await h.reconcile.run({ reason: 'startup' });
    await h.grantPending('pending');
    await h.revokePending('revoked');
    clock.advance(61_000);

    const rows = await h.allKeys();
    const users = h.coreEmails();
    const calls = h.fake.calls.length;
    const dry = await h.reconcile.run({ dryRun: true, reason: 'api' });

    expect(dry.dryRun).toBe(true);
    expect(counts(dry)).toEqual({ added: 1, removed: 1, expired: 1, failed: 0, unknownRemoved: 0 });
    await expect(h.allKeys()).resolves.toEqual(rows);
    expect(h.coreEmails()).toEqual(users);
    expect(h.alterCallsSince(calls)).toEqual({ adds: 0, removes: 0 });
    expect(h.reconcile.lastPass?.dryRun).toBe(false);

    const real = await h.reconcile.run({ reason: 'api' });
    expect(counts(real)).toEqual(counts(dry));
    expect(h.coreEmails()).not.toEqual(users);
  });

  it('runs passes one after the other: the second starts only when the first has finished', async () => {
    await h.grantPending('alice');
    const probesAtEnd: number[] = [];
    h.reconcile.on('pass', () => probesAtEnd.push(h.fake.calls.filter((c) => c.method === 'GetSysStats').length));
    // The first pass's probe is answered late; an overlapping second pass would probe meanwhile.
    h.fake.delayNext(300);

    const [first, second] = await Promise.all([h.reconcile.run({ reason: 'one' }), h.reconcile.run({ reason: 'two' })]);

    expect(probesAtEnd).toEqual([1, 2]);
    expect(first.added).toBe(1);
    // The second pass saw the first pass's work as done.
    expect(second.added).toBe(0);
  });
});

describe('ReconcileService against a core that lists its users', () => {
  let h: ReconcileHarness;

  beforeEach(async () => {
    h = await ReconcileHarness.start({ clock: new ManualClock(T0), flavor: 'xray', listUsers: true });
  });
  afterEach(() => h.close());

  it('leaves the users of an old setup alone while the database holds no key, and removes them after', async () => {
    const legacy = { email: 'legacy@example.com', uuid: '0b8a4ac3-5c5e-4f4e-9d3b-6f0c2a1e7d12', flow: '' };
    await h.putInCore(legacy);

    const dry = await h.reconcile.run({ reason: 'api', dryRun: true });
    const startup = await h.reconcile.run({ reason: 'startup' });

    expect(counts(dry).unknownRemoved).toBe(0);
    expect(counts(startup).unknownRemoved).toBe(0);
    expect(h.coreEmails()).toEqual(['legacy@example.com']);
    await h.grant('alice');
    const after = await h.reconcile.run({ reason: 'periodic' });
    expect(counts(after).unknownRemoved).toBe(1);
    expect(h.coreEmails()).not.toContain('legacy@example.com');
  });

  it('removes users unknown to the database, counted apart, and adds active keys missing from the core', async () => {
    const alice = await h.grant('alice');
    const bob = await h.grant('bob');
    await h.reconcile.run({ reason: 'startup' });
    await h.core.removeUser(TAG, bob.email);
    const stranger = { email: 'stranger@example.com', uuid: '0b8a4ac3-5c5e-4f4e-9d3b-6f0c2a1e7d11', flow: '' };
    await h.putInCore(stranger);

    const report = await h.reconcile.run({ reason: 'periodic' });

    expect(counts(report)).toEqual({ added: 1, removed: 0, expired: 0, failed: 0, unknownRemoved: 1 });
    expect(h.coreEmails()).toEqual(emailsOf([alice, bob]));
  });

  it('removes a REVOKED key the core still holds and counts it once', async () => {
    const alice = await h.grant('alice');
    await h.grant('carol');
    await h.reconcile.run({ reason: 'startup' });
    const carol = await h.revokePending('carol');
    expect(h.coreEmails()).toContain(carol.email);

    const report = await h.reconcile.run({ reason: 'periodic' });

    expect(counts(report)).toEqual({ added: 0, removed: 1, expired: 0, failed: 0, unknownRemoved: 0 });
    expect(h.coreEmails()).toEqual([alice.email]);
    expect((await h.key(carol.id)).provisioned).toBe(true);
  });

  it('dry run reports the drift a real pass repairs, without repairing it', async () => {
    const alice = await h.grant('alice');
    await h.grant('carol');
    const frank = await h.grant('frank');
    await h.revoke('frank');
    await h.reconcile.run({ reason: 'startup' });
    // Missing, unknown, revoked but still held (pending and not), and a pending grant.
    await h.core.removeUser(TAG, alice.email);
    await h.putInCore({ email: 'stranger@example.com', uuid: '0b8a4ac3-5c5e-4f4e-9d3b-6f0c2a1e7d11', flow: '' });
    await h.putInCore(frank);
    await h.revokePending('carol');
    await h.grantPending('dave');
    const rows = await h.allKeys();
    const users = h.coreEmails();
    const calls = h.fake.calls.length;

    const dry = await h.reconcile.run({ dryRun: true, reason: 'api' });
    expect(h.coreEmails()).toEqual(users);
    await expect(h.allKeys()).resolves.toEqual(rows);
    expect(h.alterCallsSince(calls)).toEqual({ adds: 0, removes: 0 });

    const real = await h.reconcile.run({ reason: 'api' });
    expect(counts(real)).toEqual({ added: 2, removed: 2, expired: 0, failed: 0, unknownRemoved: 1 });
    expect(counts(dry)).toEqual(counts(real));
  });

  it('falls back to recovery when the listing fails after a restart, and shows the failure', async () => {
    const alice = await h.grant('alice');
    const bob = await h.grant('bob');
    h.fake.setUptime(500);
    await h.reconcile.run({ reason: 'startup' });

    h.fake.restart();
    // What a listing over the client's receive limit answers.
    h.fake.failNextOf('GetInboundUsers', 8, 'Received message larger than max (5242880 vs. 4194304)');
    const report = await h.reconcile.run({ reason: 'core restarted' });

    expect(report.failed).toBe(1);
    expect(h.coreEmails()).toEqual(emailsOf([alice, bob]));
    const listing = h.monitor.reads.snapshot().user_listing;
    expect(listing).toMatchObject({ failures: 1, lastError: expect.stringContaining('larger than max') });

    await h.reconcile.run({ reason: 'periodic' });
    expect(h.monitor.reads.snapshot().user_listing).toMatchObject({ failures: 1, lastError: null });
  });

  it("repairs a core holding 50k users the database does not know, past SQLite's parameter limit", async () => {
    const alice = await h.grant('alice');
    const strangers = Array.from({ length: 50_000 }, (_, i) => ({
      email: `stranger-${i}@example.com`,
      uuid: `0b8a4ac3-5c5e-4f4e-9d3b-${String(i).padStart(12, '0')}`,
      flow: '',
      level: 0,
    }));
    h.fake.seedUsers(strangers);

    const report = await h.reconcile.run({ reason: 'periodic' });

    expect(counts(report)).toEqual({ added: 0, removed: 0, expired: 0, failed: 0, unknownRemoved: 50_000 });
    expect(h.coreEmails()).toEqual([alice.email]);
  }, 120_000);
});
