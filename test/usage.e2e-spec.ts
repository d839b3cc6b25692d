import { eventually, grpcCode, ProtoKey } from './support/keyd.harness';
import { startStack, Stack } from './support/stack.harness';
import { fetchThroughKey, probeKey } from './support/vless-client.harness';

const TOKEN = 'usage-suite-admin-token-0123456789';
const KIB = 1024;
const MIB = 1024 * KIB;
/** HTTP request and response headers ride inside the counted stream; this bounds them per fetch. */
const OVERHEAD_PER_FETCH = 2 * KIB;
const REALITY = {
  KEYD_PUBLIC_HOST: 'vpn.example.net',
  KEYD_PUBLIC_PORT: '443',
  KEYD_LINK_SECURITY: 'reality',
  XRAY_REALITY_PUBLIC_KEY: 'Z84J2IelR9ch3k8VtlVhhs5ycBUlXA7wHBWcBrjqnAw',
  XRAY_REALITY_SHORT_ID: '6ba85179e30d4fc2',
  XRAY_REALITY_SNI: 'www.example.com',
  XRAY_REALITY_FINGERPRINT: 'firefox',
};

describe('traffic accounting, data limits and subscriptions', () => {
  let s: Stack;
  beforeAll(
    async () =>
      (s = await startStack({
        name: 'usage',
        env: {
          KEYD_STATS_INTERVAL_SECONDS: '1',
          KEYD_ADMIN_TOKEN: TOKEN,
          KEYD_SUB_RATE_PER_MINUTE: '60',
          KEYD_SUB_RATE_BURST: '15',
          KEYD_SUB_UPDATE_INTERVAL_HOURS: '6',
          // The poll's start is logged at debug; the kill test acts on it.
          KEYD_LOG_LEVEL: 'debug',
          ...REALITY,
        },
      })),
  );
  afterAll(async () => s?.teardown());

  const download = async (uuid: string, bytes: number): Promise<void> => {
    const r = await fetchThroughKey({ vlessPort: s.core.vlessPort, uuid, url: s.target.bytesUrl(bytes) });
    expect(r).toEqual({ ok: true, bytes });
  };
  const passes = (uuid: string) => probeKey({ vlessPort: s.core.vlessPort, uuid, target: s.target });
  /** Waits until keyd has counted at least `bytes` downlink for the owner, and returns the key. */
  const counted = async (owner: string, bytes: number): Promise<ProtoKey> => {
    let key = await s.api.get(owner);
    await eventually(async () => (key = await s.api.get(owner)).used_downlink_bytes >= bytes, 15_000, 200);
    return key;
  };
  const expectDownlink = (key: ProtoKey, sent: number, fetches: number) => {
    expect(key.used_downlink_bytes).toBeGreaterThanOrEqual(sent);
    expect(key.used_downlink_bytes).toBeLessThanOrEqual(sent + fetches * OVERHEAD_PER_FETCH);
    expect(key.used_uplink_bytes).toBeGreaterThan(0);
    expect(key.used_uplink_bytes).toBeLessThanOrEqual(fetches * OVERHEAD_PER_FETCH);
  };

  it('records the bytes pushed through a key, in both APIs', async () => {
    const { key } = await s.api.grant('counted', 86_400);
    await download(key.uuid, 3 * MIB);
    const after = await counted('counted', 3 * MIB);
    expectDownlink(after, 3 * MIB, 1);
    expect(after.lifetime_downlink_bytes).toBe(after.used_downlink_bytes);
    expect(after.last_traffic_at?.seconds).toBeGreaterThan(0);

    const http = (await (
      await fetch(`${s.keyd.httpUrl}/v1/keys/counted`, { headers: { authorization: `Bearer ${TOKEN}` } })
    ).json()) as Record<string, unknown>;
    expect(http).toMatchObject({
      used_downlink_bytes: after.used_downlink_bytes,
      used_uplink_bytes: after.used_uplink_bytes,
      data_limit_bytes: 0,
      data_limit_reset: 'none',
      subscription_url: after.subscription_url,
    });
    expect(typeof http['last_traffic_at']).toBe('string');
  });

  it('loses and double-counts nothing when the core restarts between polls', async () => {
    const { key } = await s.api.grant('restarted', 86_400);
    await download(key.uuid, 400 * KIB);
    await counted('restarted', 400 * KIB);
    // The new core's counter ends above the old one's, so only the restart detection keeps the first bytes.
    await s.core.restart();
    expect(await eventually(() => passes(key.uuid), 15_000, 300)).toBe(true);
    await download(key.uuid, 1200 * KIB);
    const after = await counted('restarted', 1600 * KIB);
    // Settle: a later poll must not add anything more.
    await new Promise((r) => setTimeout(r, 2500));
    const settled = await s.api.get('restarted');
    expect(settled.used_downlink_bytes).toBe(after.used_downlink_bytes);
    // The probe that saw the key pass went through it too.
    expectDownlink(settled, 1600 * KIB, 3);
  });

  it('keeps totals exact when keyd is killed the moment a poll starts', async () => {
    const { key } = await s.api.grant('killed', 86_400);
    const chunk = 300 * KIB;
    for (let round = 1; round <= 3; round++) {
      await download(key.uuid, chunk);
      await s.keyd.killOnLine(/usage poll started/, 5000);
      await s.keyd.start();
    }
    const after = await counted('killed', 3 * chunk);
    await new Promise((r) => setTimeout(r, 2500));
    const settled = await s.api.get('killed');
    expect(settled.used_downlink_bytes).toBe(after.used_downlink_bytes);
    expectDownlink(settled, 3 * chunk, 3);
  });

  it('suspends a key over its limit, refuses it, and brings the same UUID back when the limit is raised', async () => {
    const { key } = await s.api.grantWith({ owner_id: 'capped', duration_seconds: 86_400, data_limit_bytes: MIB });
    expect(key.data_limit_bytes).toBe(MIB);
    await download(key.uuid, 600 * KIB);
    await download(key.uuid, 600 * KIB);
    expect(await eventually(async () => (await s.api.get('capped')).status === 'SUSPENDED', 15_000, 200)).toBe(true);
    expect(await eventually(async () => !(await passes(key.uuid)), 5000, 300)).toBe(true);

    const raised = await s.api.setDataLimit('capped', 10 * MIB);
    expect(raised).toMatchObject({ status: 'ACTIVE', uuid: key.uuid, data_limit_bytes: 10 * MIB, provisioned: true });
    expect(await passes(key.uuid)).toBe(true);

    const lowered = await s.api.setDataLimit('capped', MIB);
    expect(lowered.status).toBe('SUSPENDED');
    expect(await passes(key.uuid)).toBe(false);
    const reset = await s.api.resetUsage('capped');
    expect(reset).toMatchObject({ status: 'ACTIVE', uuid: key.uuid, used_downlink_bytes: 0, used_uplink_bytes: 0 });
    expect(reset.lifetime_downlink_bytes).toBeGreaterThanOrEqual(1200 * KIB);
    expect(await passes(key.uuid)).toBe(true);
  });

  it('brings a suspended key back on a renewing grant, with the same UUID and a fresh usage period', async () => {
    const { key } = await s.api.grantWith({
      owner_id: 'renewed',
      duration_seconds: 86_400,
      data_limit_bytes: 256 * KIB,
    });
    await download(key.uuid, 300 * KIB);
    expect(await eventually(async () => (await s.api.get('renewed')).status === 'SUSPENDED', 15_000, 200)).toBe(true);
    const renewed = await s.api.grant('renewed', 86_400);
    expect(renewed.action).toBe('RENEWED');
    expect(renewed.key).toMatchObject({
      status: 'ACTIVE',
      uuid: key.uuid,
      used_downlink_bytes: 0,
      data_limit_bytes: 256 * KIB,
    });
    expect(await passes(key.uuid)).toBe(true);
  });

  it('serves the subscription: base64 links that parse back to the key, and the usage headers', async () => {
    const { key } = await s.api.grantWith({
      owner_id: 'subscriber',
      duration_seconds: 3 * 86_400,
      data_limit_bytes: 5 * MIB,
    });
    await download(key.uuid, 200 * KIB);
    const current = await counted('subscriber', 200 * KIB);
    const url = new URL(current.subscription_url);
    expect(url.origin).toBe(s.keyd.subUrl);
    expect(url.pathname).toMatch(/^\/sub\/[A-Za-z0-9_-]{32,}$/);

    const res = await fetch(current.subscription_url);
    expect(res.status).toBe(200);
    const lines = Buffer.from(await res.text(), 'base64')
      .toString('utf8')
      .trim()
      .split('\n');
    expect(lines).toHaveLength(1);
    const link = new URL(lines[0]);
    expect(link.protocol).toBe('vless:');
    expect(link.username).toBe(key.uuid);
    expect(link.hostname).toBe(REALITY.KEYD_PUBLIC_HOST);
    expect(link.port).toBe(REALITY.KEYD_PUBLIC_PORT);
    expect(Object.fromEntries(link.searchParams)).toMatchObject({
      security: 'reality',
      pbk: REALITY.XRAY_REALITY_PUBLIC_KEY,
      sid: REALITY.XRAY_REALITY_SHORT_ID,
      sni: REALITY.XRAY_REALITY_SNI,
      fp: REALITY.XRAY_REALITY_FINGERPRINT,
    });
    const info = Object.fromEntries(
      (res.headers.get('subscription-userinfo') ?? '').split(';').map((p) =>
        p
          .trim()
          .split('=')
          .map((x) => x.trim()),
      ),
    );
    expect(info).toEqual({
      upload: String(current.used_uplink_bytes),
      download: String(current.used_downlink_bytes),
      total: String(5 * MIB),
      expire: String(current.subscription_end.seconds),
    });
    expect(res.headers.get('profile-update-interval')).toBe('6');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="[^"]+"$/);

    const plain = await fetch(`${current.subscription_url}?format=plain`);
    expect((await plain.text()).trim()).toBe(lines[0]);
  });

  it('answers 404 with no detail for unknown, revoked and replaced tokens', async () => {
    const { key } = await s.api.grant('tokens', 86_400);
    const first = key.subscription_url;
    const miss = await fetch(`${s.keyd.subUrl}/sub/${'A'.repeat(32)}`);
    expect(miss.status).toBe(404);
    expect(await miss.text()).toBe('');

    const regenerated = await s.api.regenerateSubscriptionToken('tokens');
    expect(regenerated.subscription_url).not.toBe(first);
    expect((await fetch(first)).status).toBe(404);
    expect((await fetch(regenerated.subscription_url)).status).toBe(200);

    const revoked = await s.api.revokeSubscriptionToken('tokens');
    expect(revoked.subscription_url).toBe('');
    expect((await fetch(regenerated.subscription_url)).status).toBe(404);
    // The admin API is not reachable on the public listener.
    expect((await fetch(`${s.keyd.subUrl}/v1/keys`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(
      404,
    );
  });

  it('keeps the subscription URL when an expired key is replaced, and drops it when the key is revoked', async () => {
    const first = await s.api.grant('returning', 2);
    await new Promise((r) => setTimeout(r, 3000));
    const second = await s.api.grant('returning', 86_400);
    expect(second.action).toBe('ISSUED');
    expect(second.key.uuid).not.toBe(first.key.uuid);
    expect(second.key.subscription_url).toBe(first.key.subscription_url);
    const body = Buffer.from(await (await fetch(second.key.subscription_url)).text(), 'base64').toString();
    expect(body).toContain(second.key.uuid);

    await s.api.revoke('returning');
    expect((await fetch(second.key.subscription_url)).status).toBe(404);
  });

  it('refuses bad limits and changes to revoked keys with clear codes, and changes nothing', async () => {
    const { key } = await s.api.grantWith({ owner_id: 'strict', duration_seconds: 86_400, data_limit_bytes: MIB });
    const admin = (method: string, path: string, body?: unknown, token = TOKEN) =>
      fetch(`${s.keyd.httpUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });

    expect(await grpcCode(s.api.setDataLimit('strict', -1))).toBe(3);
    expect(await grpcCode(s.api.grantWith({ owner_id: 'strict', duration_seconds: 60, data_limit_bytes: -5 }))).toBe(3);
    expect(await grpcCode(s.api.setDataLimit('nobody-ever', MIB))).toBe(5);
    const bad = await admin('PUT', '/v1/keys/strict/data-limit', { data_limit_bytes: 1.5 });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/data_limit_bytes/);
    expect((await admin('PUT', '/v1/keys/strict/data-limit', {})).status).toBe(400);
    expect(
      (await admin('PUT', '/v1/keys/strict/data-limit', { data_limit_bytes: 0, data_limit_reset: 'hourly' })).status,
    ).toBe(400);
    expect(
      (await admin('PUT', '/v1/keys/strict/data-limit', { data_limit_bytes: 0 }, 'wrong-token-wrong-token')).status,
    ).toBe(401);
    expect((await admin('POST', '/v1/keys/strict/usage/reset', undefined, 'wrong-token-wrong-token')).status).toBe(401);
    expect(await s.api.get('strict')).toMatchObject({ data_limit_bytes: MIB, status: 'ACTIVE', uuid: key.uuid });

    await s.api.revoke('strict');
    expect(await grpcCode(s.api.setDataLimit('strict', 0))).toBe(9);
    const conflict = await admin('POST', '/v1/keys/strict/subscription-token');
    expect(conflict.status).toBe(409);
    expect(await conflict.json()).toEqual({ error: { code: 'CONFLICT', message: expect.stringMatching(/revoked/) } });
    expect(await s.api.get('strict')).toMatchObject({ data_limit_bytes: MIB, status: 'REVOKED', subscription_url: '' });
  });

  it('rate-limits the public endpoint by client address', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) statuses.push((await fetch(`${s.keyd.subUrl}/sub/${'B'.repeat(32)}`)).status);
    expect(statuses).toContain(429);
    expect(statuses.filter((c) => c !== 404 && c !== 429)).toEqual([]);
  });
});
