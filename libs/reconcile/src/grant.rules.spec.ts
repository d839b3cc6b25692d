import { InvalidArgumentError, Key } from '@keyd/domain';
import { ManualClock } from './testing/manual.clock';
import { DAY_S, ReconcileHarness } from './testing/reconcile.harness';

const T0 = Date.parse('2030-01-01T00:00:00Z');

/*
 * GrantService's renew-or-issue rules, over the real store and the fake core
 * (the reconcile harness wires keys and reconcile as Nest does).
 */
describe('GrantService', () => {
  let h: ReconcileHarness;
  let clock: ManualClock;

  beforeEach(async () => {
    clock = new ManualClock(T0);
    h = await ReconcileHarness.start({ clock });
  });
  afterEach(() => h.close());

  const grant = (ownerId: string, durationSeconds: number, more: Record<string, unknown> = {}) =>
    h.grants.grant({ ownerId, durationSeconds, ...more });
  const setStatus = (key: Key, status: Key['status']) =>
    h.keys.write((tx) => tx.update(key.id, { status }, clock.now()));

  it('issues an ACTIVE key, pushed to the core, to an owner with none', async () => {
    const r = await grant('alice', DAY_S);
    expect(r.action).toBe('ISSUED');
    expect(r.key).toMatchObject({ status: 'ACTIVE', provisioned: true, subscriptionEnd: new Date(T0 + DAY_S * 1000) });
    expect(h.coreEmails()).toEqual([r.key.email]);
  });

  it('renews a live key from its current end, keeping its UUID, and opens a new usage period', async () => {
    const first = await grant('alice', DAY_S);
    clock.advance(3600_000);
    const r = await grant('alice', 2 * DAY_S);
    expect(r.action).toBe('RENEWED');
    expect(r.key.id).toBe(first.key.id);
    expect(r.key.uuid).toBe(first.key.uuid);
    expect(r.key.subscriptionEnd).toEqual(new Date(T0 + 3 * DAY_S * 1000));
    expect(r.key.usage.periodStart).toEqual(clock.now());
    expect(h.coreEmails()).toEqual([first.key.email]);
  });

  it('brings a key suspended for data back into the core on renewal, with the same UUID', async () => {
    const first = await grant('alice', DAY_S);
    await setStatus(first.key, 'SUSPENDED');
    await h.sync.converge([first.key]);
    expect(h.coreEmails()).toEqual([]);

    const r = await grant('alice', DAY_S);
    expect(r.action).toBe('RENEWED');
    expect(r.key).toMatchObject({ id: first.key.id, uuid: first.key.uuid, status: 'ACTIVE', provisioned: true });
    expect(h.coreEmails()).toEqual([first.key.email]);
  });

  it('replaces a live key past its end, before the expiry timer ran, with a new one that inherits its plan and URL', async () => {
    const first = await grant('alice', DAY_S, {
      dataLimitBytes: 5_000,
      limitReset: 'month',
      deviceLimit: 2,
      nodeGroup: 'eu',
    });
    clock.advance(DAY_S * 1000 + 1);
    const r = await grant('alice', DAY_S);
    expect(r.action).toBe('ISSUED');
    expect(r.key.uuid).not.toBe(first.key.uuid);
    expect(r.key).toMatchObject({
      dataLimitBytes: 5_000,
      limitReset: 'month',
      deviceLimit: 2,
      nodeGroup: 'eu',
      subscriptionToken: first.key.subscriptionToken,
      subscriptionEnd: new Date(clock.now().getTime() + DAY_S * 1000),
    });
    const old = await h.key(first.key.id);
    expect(old).toMatchObject({ status: 'EXPIRED', subscriptionToken: null });
    expect(h.coreEmails()).toEqual([r.key.email]);
  });

  it('lets a grant override the inherited plan', async () => {
    await grant('alice', DAY_S, { dataLimitBytes: 5_000, deviceLimit: 2 });
    clock.advance(DAY_S * 1000 + 1);
    const r = await grant('alice', DAY_S, { dataLimitBytes: 0, deviceLimit: 4 });
    expect(r.key).toMatchObject({ dataLimitBytes: 0, deviceLimit: 4 });
  });

  it('starts afresh after a revocation: a new key with a new subscription URL and no inherited limits', async () => {
    const first = await grant('alice', DAY_S, { dataLimitBytes: 5_000, deviceLimit: 2 });
    await h.revoke('alice');
    const r = await grant('alice', DAY_S);
    expect(r.action).toBe('ISSUED');
    expect(r.key.uuid).not.toBe(first.key.uuid);
    expect(r.key.subscriptionToken).not.toBeNull();
    expect(r.key.subscriptionToken).not.toBe(first.key.subscriptionToken);
    expect(r.key).toMatchObject({ dataLimitBytes: 0, deviceLimit: 0, limitReset: 'none' });
  });

  it('answers a retried request id with its first result, without adding time again', async () => {
    const first = await grant('alice', DAY_S, { requestId: 'order-1' });
    const retry = await grant('alice', DAY_S, { requestId: 'order-1' });
    expect(retry).toMatchObject({ action: 'ISSUED' });
    expect(retry.key.subscriptionEnd).toEqual(first.key.subscriptionEnd);
    expect((await h.allKeys()).length).toBe(1);
  });

  it('refuses a request id reused for a different grant, and changes nothing', async () => {
    const first = await grant('alice', DAY_S, { requestId: 'order-1' });
    await expect(grant('alice', 2 * DAY_S, { requestId: 'order-1' })).rejects.toThrow(
      new InvalidArgumentError('request_id', 'was already used for a different grant'),
    );
    expect(await h.allKeys()).toEqual([expect.objectContaining({ subscriptionEnd: first.key.subscriptionEnd })]);
  });

  it('refuses bad input before touching the store', async () => {
    await expect(grant('alice', 0)).rejects.toThrow('duration_seconds: must be positive');
    expect(await h.allKeys()).toEqual([]);
  });

  it('commits the key when the core call fails, leaving it pending for reconciliation', async () => {
    const key = await h.grantPending('alice');
    expect(key).toMatchObject({ status: 'ACTIVE', provisioned: false });
    expect(await h.allKeys()).toHaveLength(1);
    expect(h.coreEmails()).toEqual([]);
  });
});
