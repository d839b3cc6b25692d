import { eventually, grpcCode } from './support/keyd.harness';
import { startStack, Stack } from './support/stack.harness';

const TOKEN = 'devices-suite-admin-token-0123456789';

describe('device limits', () => {
  let s: Stack;
  beforeAll(
    async () =>
      (s = await startStack({
        name: 'devices',
        accessLog: true,
        env: { KEYD_ADMIN_TOKEN: TOKEN },
      })),
  );
  afterAll(async () => s?.teardown());

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
});
