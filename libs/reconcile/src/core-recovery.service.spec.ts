import { join } from 'node:path';
import { Key } from '@keyd/domain';
import { ManualClock } from './testing/manual.clock';
import { emailsOf, ReconcileHarness } from './testing/reconcile.harness';

const T0 = Date.parse('2030-01-01T00:00:00Z');

/** A core that cannot list its users, so only recovery can find what a restart brought back. */
describe('CoreRecovery', () => {
  let h: ReconcileHarness;

  beforeEach(async () => {
    // Recovery trusts the file's recorded sequence only when keyd manages a file; nothing is written to it here.
    h = await ReconcileHarness.start({ clock: new ManualClock(T0), flavor: 'v2ray', configPath: join('unused') });
    h.fake.setUptime(500);
  });
  afterEach(() => h.close());

  /** What a core holds after booting from a file written when exactly these keys were active. */
  const bootFromFile = (inFile: Key[]) => {
    h.fake.restart();
    h.fake.seedUsers(inFile.map((k) => ({ email: k.email, uuid: k.uuid, flow: k.flow, level: 0 })));
  };
  const recordFileWrite = async () => h.coreState.recordConfigWrite(await h.keys.maxChangeSeq(), new Date(T0));

  it('removes keys revoked after the file was written, even when the probe finds the core intact', async () => {
    const alice = await h.grant('alice');
    const bob = await h.grant('bob');
    await h.reconcile.run({ reason: 'startup' });
    await recordFileWrite();
    await h.revoke('bob');
    expect(h.coreEmails()).toEqual([alice.email]);

    // The newest confirmed active key (alice) is in the file, so the probe finds it and the core looks intact.
    bootFromFile([alice, bob]);
    const recover = jest.spyOn(h.recovery, 'recover');
    const report = await h.reconcile.run({ reason: 'periodic' });

    await expect(recover.mock.results[0].value).resolves.toMatchObject({ mode: 'intact', removed: 1 });
    expect(report.coreRestartDetected).toBe(true);
    expect(h.coreEmails()).toEqual([alice.email]);
  });

  it('removes only what the file lags behind: nothing when it was written after the revocations', async () => {
    const alice = await h.grant('alice');
    await h.grant('bob');
    await h.grant('carol');
    await h.reconcile.run({ reason: 'startup' });
    await h.revoke('bob');
    await h.revoke('carol');
    await recordFileWrite();

    bootFromFile([alice]);
    const calls = h.fake.calls.length;
    await h.reconcile.run({ reason: 'periodic' });

    expect(h.alterCallsSince(calls)).toEqual({ adds: 1, removes: 0 });
    expect(h.coreEmails()).toEqual([alice.email]);
  });

  it('removes them when every key has been revoked since, with no key left to probe', async () => {
    const alice = await h.grant('alice');
    await h.reconcile.run({ reason: 'startup' });
    await recordFileWrite();
    await h.revoke('alice');

    bootFromFile([alice]);
    await h.reconcile.run({ reason: 'periodic' });

    expect(h.coreEmails()).toEqual([]);
  });

  it('removes them after a full re-push too', async () => {
    const early = await h.grant('early');
    await h.reconcile.run({ reason: 'startup' });
    await recordFileWrite();
    const late = await h.grant('late');
    await h.revoke('early');

    // A core that booted from an older file than the one recorded: neither probe key is there.
    h.fake.restart();
    h.fake.seedUsers([{ email: early.email, uuid: early.uuid, flow: early.flow, level: 0 }]);
    const recover = jest.spyOn(h.recovery, 'recover');
    await h.reconcile.run({ reason: 'periodic' });

    await expect(recover.mock.results[0].value).resolves.toMatchObject({ mode: 'full' });
    expect(h.coreEmails()).toEqual([late.email]);
  });

  it('leaves no key live that was revoked while a full re-push was adding it', async () => {
    const granted: Key[] = [];
    for (let i = 0; i < 40; i++) granted.push(await h.grant(`owner-${i}`));
    await h.reconcile.run({ reason: 'startup' });
    h.fake.restart();

    // Each of these owners is revoked just before the bulk push sends its stale add: the revocation's
    // removal is confirmed first, and the add from the old snapshot reaches the core after it.
    const raced = new Set(granted.filter((_, i) => i % 4 === 0).map((k) => k.ownerId));
    const push = h.sync.push.bind(h.sync);
    jest.spyOn(h.sync, 'push').mockImplementation(async (key) => {
      if (key.status === 'ACTIVE' && raced.delete(key.ownerId)) await h.revoke(key.ownerId);
      return push(key);
    });
    const recover = jest.spyOn(h.recovery, 'recover');
    await h.reconcile.run({ reason: 'periodic' });

    await expect(recover.mock.results[0].value).resolves.toMatchObject({ mode: 'full', failed: 0 });
    expect(raced.size).toBe(0);
    expect(h.coreEmails()).toEqual(emailsOf(granted.filter((_, i) => i % 4 !== 0)));
    await expect(h.keys.countPending()).resolves.toBe(0);
  });
});
