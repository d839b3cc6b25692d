import { eventually, grpcCode } from './support/keyd.harness';
import { startStack, Stack } from './support/stack.harness';
import { startStream, Stream } from './support/vless-client.harness';

const TOKEN = 'devices-suite-admin-token-0123456789';
const KIB = 1024;
/** Short, so that a device's leaving can be waited out within a test. */
const WINDOW_SECONDS = 2;
/** The bound the product promises for a cut, as in the sessions suite. */
const CUT_WITHIN_MS = 3000;

interface DevicesJson {
  owner_id: string;
  device_limit: number;
  window_seconds: number;
  devices: { address: string; first_seen: string; last_seen: string }[];
}

describe('device limits', () => {
  let s: Stack;
  const streams: Stream[] = [];
  beforeAll(
    async () =>
      (s = await startStack({
        name: 'devices',
        accessLog: true,
        env: { KEYD_ADMIN_TOKEN: TOKEN, KEYD_DEVICE_WINDOW_SECONDS: String(WINDOW_SECONDS) },
      })),
  );
  afterEach(async () => {
    await Promise.all(streams.splice(0).map((st) => st.stop()));
  });
  afterAll(async () => s?.teardown());

  const stream = async (uuid: string, sendThrough: string): Promise<Stream> => {
    const st = await startStream({ vlessPort: s.core.vlessPort, uuid, url: s.target.slowUrl, sendThrough });
    streams.push(st);
    return st;
  };
  const stopStream = async (st: Stream): Promise<void> => {
    streams.splice(streams.indexOf(st), 1);
    await st.stop();
  };
  const devices = async (owner: string): Promise<DevicesJson> =>
    (await (await admin('GET', `/v1/keys/${owner}/devices`)).json()) as DevicesJson;
  const addresses = async (owner: string): Promise<string[]> =>
    (await devices(owner)).devices.map((d) => d.address).sort();
  const cutForDevices = async (): Promise<number> => {
    const text = await (await fetch(`${s.keyd.httpUrl}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('keyd_connections_cut_total{reason="device_limit"}'));
    return line === undefined ? 0 : Number(line.split(' ').pop());
  };

  const admin = (method: string, path: string, body?: unknown, token = TOKEN) =>
    fetch(`${s.keyd.httpUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it('is set by a grant, kept by a renewal, changed on both APIs and inherited by a replacement key', async () => {
    const granted = await s.api.grantWith({ owner_id: 'family', duration_seconds: 2, device_limit: 3 });
    expect(granted.key.device_limit).toBe(3);
    const renewed = await s.api.grantWith({ owner_id: 'family', duration_seconds: 1 });
    expect(renewed).toMatchObject({ action: 'RENEWED', key: { device_limit: 3 } });

    expect((await s.api.setDeviceLimit('family', 2)).device_limit).toBe(2);
    const put = await admin('PUT', '/v1/keys/family/device-limit', { device_limit: 4 });
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({ owner_id: 'family', device_limit: 4 });
    expect(await (await admin('GET', '/v1/keys/family')).json()).toMatchObject({ device_limit: 4 });
    expect((await s.api.get('family')).device_limit).toBe(4);

    await eventually(async () => (await s.api.get('family')).status === 'EXPIRED', 10_000, 100);
    const replacement = await s.api.grant('family', 86_400);
    expect(replacement.action).toBe('ISSUED');
    expect(replacement.key.uuid).not.toBe(granted.key.uuid);
    expect(replacement.key.device_limit).toBe(4);
    // Given explicitly, it replaces the inherited one; 0 lifts the limit.
    expect(
      (await s.api.grantWith({ owner_id: 'family', duration_seconds: 60, device_limit: 0 })).key.device_limit,
    ).toBe(0);
  });

  it('refuses bad limits, unknown owners and revoked keys with clear codes, and changes nothing', async () => {
    await s.api.grantWith({
      owner_id: 'strict-devices',
      duration_seconds: 86_400,
      device_limit: 2,
      request_id: 'dl-1',
    });
    expect(await grpcCode(s.api.setDeviceLimit('strict-devices', -1))).toBe(3);
    expect(await grpcCode(s.api.setDeviceLimit('strict-devices', 257))).toBe(3);
    expect(
      await grpcCode(s.api.grantWith({ owner_id: 'strict-devices', duration_seconds: 60, device_limit: -2 })),
    ).toBe(3);
    // The same request_id with another device limit is another grant.
    expect(
      await grpcCode(
        s.api.grantWith({ owner_id: 'strict-devices', duration_seconds: 86_400, device_limit: 5, request_id: 'dl-1' }),
      ),
    ).toBe(3);
    expect(await grpcCode(s.api.setDeviceLimit('nobody-ever', 1))).toBe(5);

    const bad = await admin('PUT', '/v1/keys/strict-devices/device-limit', { device_limit: 1.5 });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/device_limit/);
    expect((await admin('PUT', '/v1/keys/strict-devices/device-limit', {})).status).toBe(400);
    expect((await admin('PUT', '/v1/keys/strict-devices/device-limit', { device_limit: '2x' })).status).toBe(400);
    expect(
      (await admin('POST', '/v1/grants', { owner_id: 'strict-devices', duration_seconds: 60, device_limit: 1e6 }))
        .status,
    ).toBe(400);
    expect((await admin('PUT', '/v1/keys/nobody-ever/device-limit', { device_limit: 1 })).status).toBe(404);
    expect(
      (await admin('PUT', '/v1/keys/strict-devices/device-limit', { device_limit: 1 }, 'wrong-token-wrong-token'))
        .status,
    ).toBe(401);
    expect(await s.api.get('strict-devices')).toMatchObject({ device_limit: 2, status: 'ACTIVE' });

    await s.api.revoke('strict-devices');
    expect(await grpcCode(s.api.setDeviceLimit('strict-devices', 1))).toBe(9);
    expect((await admin('PUT', '/v1/keys/strict-devices/device-limit', { device_limit: 1 })).status).toBe(409);
    expect(await s.api.get('strict-devices')).toMatchObject({ device_limit: 2, status: 'REVOKED' });
  });

  it('cuts an address beyond the limit while the device already connected keeps streaming; the newcomer gets in once that device has been gone for the window', async () => {
    const { key } = await s.api.grantWith({ owner_id: 'one-device', duration_seconds: 86_400, device_limit: 1 });
    const first = await stream(key.uuid, '127.0.0.2');
    expect(await first.flows(16 * KIB, 10_000)).toBe(true);
    // The access log is followed, so a device shows once its line has been read.
    expect(await eventually(async () => (await addresses('one-device')).join() === '127.0.0.2', 10_000)).toBe(true);

    const newcomer = await stream(key.uuid, '127.0.0.3');
    // Cut within the bound a revocation's cut has: the newcomer's download goes quiet, and it stays out of the key's devices.
    expect(await newcomer.stoppedWithin(CUT_WITHIN_MS)).toBe(true);
    expect(await cutForDevices()).toBeGreaterThanOrEqual(1);
    expect(await addresses('one-device')).toEqual(['127.0.0.2']);
    // The first device streams on, across more than a window; its long-lived connection keeps it counted.
    expect(await first.flows(64 * KIB, 5000)).toBe(true);
    expect(await first.flows(160 * KIB, 5000)).toBe(true);
    expect(await first.flows(160 * KIB, 5000)).toBe(true);
    expect(first.ended).toBe(false);
    expect(await addresses('one-device')).toEqual(['127.0.0.2']);
    await stopStream(newcomer);

    await stopStream(first);
    // Retried until the window has passed: a newcomer let in keeps flowing well past the time a cut takes.
    const admitted = await eventually(
      async () => {
        const st = await stream(key.uuid, '127.0.0.3');
        const ok =
          (await st.flows(16 * KIB, 5000)) && (await st.flows(160 * KIB, 5000)) && (await st.flows(160 * KIB, 5000));
        if (!ok) await stopStream(st);
        return ok;
      },
      60_000,
      0,
    );
    expect(admitted).toBe(true);
    expect(await eventually(async () => (await addresses('one-device')).join() === '127.0.0.3', 10_000)).toBe(true);
    const view = await devices('one-device');
    expect(view).toMatchObject({ owner_id: 'one-device', device_limit: 1, window_seconds: WINDOW_SECONDS });
    const [device] = view.devices;
    expect(Date.parse(device?.last_seen ?? '')).toBeGreaterThanOrEqual(Date.parse(device?.first_seen ?? 'x'));
    // Client addresses reach the admin API only: never the logs.
    expect(s.keyd.logs()).not.toContain('127.0.0.3');
  });

  it('counts every address of an unlimited key, and shows devices to the admin only', async () => {
    const { key } = await s.api.grant('many-devices', 86_400);
    const a = await stream(key.uuid, '127.0.0.2');
    const b = await stream(key.uuid, '127.0.0.3');
    expect(
      await eventually(async () => (await addresses('many-devices')).join() === '127.0.0.2,127.0.0.3', 15_000),
    ).toBe(true);
    expect(await a.flows(64 * KIB, 5000)).toBe(true);
    expect(await b.flows(64 * KIB, 5000)).toBe(true);

    expect((await admin('GET', '/v1/keys/many-devices/devices', undefined, 'wrong-token-wrong-token')).status).toBe(
      401,
    );
    expect((await admin('GET', '/v1/keys/nobody-ever/devices')).status).toBe(404);
    const sub = await fetch(key.subscription_url);
    expect(sub.status).toBe(200);
    expect(await sub.text()).not.toMatch(/127\.0\.0\.[23]/);
  });
});
