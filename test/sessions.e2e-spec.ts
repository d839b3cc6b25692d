import { eventually } from './support/keyd.harness';
import { startStack, Stack } from './support/stack.harness';
import { probeKey, startStream, Stream } from './support/vless-client.harness';

const TOKEN = 'sessions-suite-admin-token-0123456789';
const KIB = 1024;
/** The bound the product promises for a cut, from the change to the stream's end. */
const CUT_WITHIN_MS = 3000;

describe('open connections of keys that stop being active', () => {
  let s: Stack;
  const streams: Stream[] = [];
  beforeAll(
    async () =>
      (s = await startStack({
        name: 'sessions',
        accessLog: true,
        env: { KEYD_ADMIN_TOKEN: TOKEN, KEYD_STATS_INTERVAL_SECONDS: '1' },
      })),
  );
  afterEach(async () => {
    await Promise.all(streams.splice(0).map((st) => st.stop()));
  });
  afterAll(async () => s?.teardown());

  const stream = async (uuid: string, sendThrough = '127.0.0.2'): Promise<Stream> => {
    const st = await startStream({ vlessPort: s.core.vlessPort, uuid, url: s.target.slowUrl, sendThrough });
    streams.push(st);
    expect(await st.flows(16 * KIB, 10_000)).toBe(true);
    return st;
  };
  const admin = async (path: string): Promise<Record<string, unknown>> =>
    (await (
      await fetch(`${s.keyd.httpUrl}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })
    ).json()) as Record<string, unknown>;
  const metric = async (line: RegExp): Promise<number> => {
    const text = await (await fetch(`${s.keyd.httpUrl}/metrics`)).text();
    const m = text.split('\n').find((l) => line.test(l));
    return m === undefined ? 0 : Number(m.split(' ').pop());
  };

  it('reports that it can cut', async () => {
    const status = await admin('/v1/status');
    expect(status['cut_connections']).toMatchObject({
      state: 'available',
      reason: null,
      inbound_port: s.core.vlessPort,
      access_log: { path: s.accessLog, state: 'following' },
    });
    expect(await metric(/^keyd_cut_connections_available\{reason=""\}/)).toBe(1);
  });

  it('a revocation stops the key’s own stream and leaves another key’s stream from the same address running', async () => {
    const a = (await s.api.grant('rev-a', 86_400)).key;
    const b = (await s.api.grant('rev-b', 86_400)).key;
    const streamA = await stream(a.uuid);
    const streamB = await stream(b.uuid);
    await s.api.revoke('rev-a');
    expect(await streamA.stoppedWithin(CUT_WITHIN_MS)).toBe(true);
    // B keeps flowing, checked twice across more than the cut bound.
    expect(await streamB.flows(32 * KIB, 3000)).toBe(true);
    expect(await streamB.flows(32 * KIB, 3000)).toBe(true);
    expect(streamB.ended).toBe(false);
    expect(await metric(/^keyd_connections_cut_total\{reason="revoked"\}/)).toBeGreaterThanOrEqual(1);
  });

  it('an expiry mid-stream cuts the stream', async () => {
    const other = (await s.api.grant('exp-other', 86_400)).key;
    const { key } = await s.api.grant('exp', 4);
    const st = await stream(key.uuid);
    const bystander = await stream(other.uuid);
    expect(await eventually(async () => (await s.api.get('exp')).status === 'EXPIRED', 10_000, 100)).toBe(true);
    expect(await st.stoppedWithin(CUT_WITHIN_MS)).toBe(true);
    expect(await bystander.flows(32 * KIB, 3000)).toBe(true);
    expect(await metric(/^keyd_connections_cut_total\{reason="expired"\}/)).toBeGreaterThanOrEqual(1);
  });

  it('a suspension at the data limit mid-stream cuts the stream', async () => {
    const { key } = await s.api.grantWith({
      owner_id: 'capped',
      duration_seconds: 86_400,
      data_limit_bytes: 256 * KIB,
    });
    const st = await stream(key.uuid);
    expect(await eventually(async () => (await s.api.get('capped')).status === 'SUSPENDED', 15_000, 100)).toBe(true);
    expect(await st.stoppedWithin(CUT_WITHIN_MS)).toBe(true);
    expect(await metric(/^keyd_connections_cut_total\{reason="suspended"\}/)).toBeGreaterThanOrEqual(1);
  });

  it('without CAP_NET_ADMIN keyd still revokes, and reports why it cannot cut', async () => {
    await s.keyd.kill('SIGTERM');
    s.keyd.launcher = ['setpriv', '--inh-caps=-net_admin', '--bounding-set=-net_admin', '--'];
    try {
      await s.keyd.start();
      const status = await admin('/v1/status');
      expect(status['cut_connections']).toMatchObject({
        state: 'unavailable',
        reason: expect.stringMatching(/CAP_NET_ADMIN/),
      });
      expect(await metric(/^keyd_cut_connections_available\{reason="no_cap_net_admin"\}/)).toBe(0);
      expect(s.keyd.logs()).toMatch(/cut_connections: unavailable/);

      const { key } = await s.api.grant('nocap', 86_400);
      const st = await stream(key.uuid);
      const revoked = await s.api.revoke('nocap');
      expect(revoked).toMatchObject({ status: 'REVOKED', provisioned: true });
      expect(await probeKey({ vlessPort: s.core.vlessPort, uuid: key.uuid, target: s.target })).toBe(false);
      // The open stream is what keyd says it cannot cut.
      expect(await st.flows(16 * KIB, 3000)).toBe(true);
    } finally {
      await s.keyd.kill('SIGTERM');
      s.keyd.launcher = [];
      await s.keyd.start();
    }
  });
});
