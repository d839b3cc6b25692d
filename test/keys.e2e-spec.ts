import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { status } from '@grpc/grpc-js';
import { XrayClient } from '@keyd/xray';
import { CoreProcess, startCore } from './support/core.harness';
import { createKeyd, grpcCode, KeydClient, KeydProcess } from './support/keyd.harness';
import { stopAll } from './support/processes.harness';
import { HttpTarget, startHttpTarget } from './support/target.harness';
import { probeKey, probeKeys } from './support/vless-client.harness';

const DAY = 86_400;

describe('key lifecycle through the gRPC API against a real core', () => {
  let dir: string;
  let core: CoreProcess;
  let keyd: KeydProcess;
  let api: KeydClient;
  let target: HttpTarget;

  const passes = (uuid: string) => probeKey({ vlessPort: core.vlessPort, uuid, target });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keyd-e2e-keys-'));
    target = await startHttpTarget();
    core = await startCore({ dir });
    keyd = await createKeyd({ dbPath: join(dir, 'keyd.sqlite'), coreApiAddr: core.apiAddr });
    await keyd.start();
    api = keyd.client();
  });

  afterAll(async () => {
    api?.close();
    await stopAll();
    await target?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('issues a key that passes traffic as soon as the response arrives', async () => {
    const res = await api.grant('alice', DAY);
    expect(res.action).toBe('ISSUED');
    expect(res.key.status).toBe('ACTIVE');
    expect(res.key.provisioned).toBe(true);
    expect(res.key.email).not.toBe('');
    expect(res.key.vless_url).toContain(`vless://${res.key.uuid}@`);
    expect(await passes(res.key.uuid)).toBe(true);
  });

  it('renews an active key: same UUID, later end, still passing', async () => {
    const first = (await api.grant('renewer', DAY)).key;
    const renewed = await api.grant('renewer', DAY);
    expect(renewed.action).toBe('RENEWED');
    expect(renewed.key.uuid).toBe(first.uuid);
    expect(renewed.key.subscription_end.seconds).toBe(first.subscription_end.seconds + DAY);
    expect(await passes(renewed.key.uuid)).toBe(true);
  });

  it('answers a retried request_id with the first result and extends once', async () => {
    const first = await api.grant('bob', DAY, 'req-bob-1');
    const retry = await api.grant('bob', DAY, 'req-bob-1');
    expect(retry.action).toBe(first.action);
    expect(retry.key.uuid).toBe(first.key.uuid);
    expect(retry.key.subscription_end).toEqual(first.key.subscription_end);
    expect(await grpcCode(api.grant('bob', 2 * DAY, 'req-bob-1'))).toBe(status.INVALID_ARGUMENT);
    expect((await api.get('bob')).subscription_end).toEqual(first.key.subscription_end);
  });

  it('revokes a key: the core refuses it and the key reads REVOKED', async () => {
    const granted = await api.grant('carol', DAY);
    expect(await passes(granted.key.uuid)).toBe(true);
    const revoked = await api.revoke('carol');
    expect(revoked.status).toBe('REVOKED');
    expect(revoked.provisioned).toBe(true);
    expect(await passes(granted.key.uuid)).toBe(false);
    expect((await api.get('carol')).status).toBe('REVOKED');
  });

  it('issues a new UUID after a revocation', async () => {
    const revoked = await api.grant('returner', DAY);
    await api.revoke('returner');
    const again = await api.grant('returner', DAY);
    expect(again.action).toBe('ISSUED');
    expect(again.key.uuid).not.toBe(revoked.key.uuid);
    expect(await passes(again.key.uuid)).toBe(true);
    expect(await passes(revoked.key.uuid)).toBe(false);
  });

  it('gives 200 concurrent grants for 200 owners 200 live keys', async () => {
    const owners = Array.from({ length: 200 }, (_, i) => `burst-${i}`);
    const results = await Promise.all(owners.map((o) => api.grant(o, DAY)));
    expect(results.every((r) => r.action === 'ISSUED' && r.key.provisioned)).toBe(true);
    expect(new Set(results.map((r) => r.key.uuid)).size).toBe(200);

    // Every one through the core's own answer: adding it again must be a duplicate.
    const direct = new XrayClient({ core: { apiAddr: core.apiAddr, flavor: 'v2ray', callTimeoutMs: 5000 } } as never);
    try {
      const outcomes = await Promise.all(
        results.map((r) => direct.addUser('vless-in', { email: r.key.email, uuid: r.key.uuid, flow: '', level: 0 })),
      );
      expect(outcomes.filter((o) => o === 'already_exists')).toHaveLength(200);
    } finally {
      direct.close();
    }
    const sample = results.filter((_, i) => i % 10 === 0).map((r) => r.key.uuid);
    const probed = await probeKeys({ vlessPort: core.vlessPort, uuids: sample, target });
    expect([...probed.values()].filter(Boolean)).toHaveLength(sample.length);
  });

  it('serializes concurrent grants for one owner into one key', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, () => api.grant('dave', 60)));
    expect(new Set(results.map((r) => r.key.uuid)).size).toBe(1);
    expect(results.filter((r) => r.action === 'ISSUED')).toHaveLength(1);
    const key = await api.get('dave');
    const first = Math.min(...results.map((r) => r.key.subscription_end.seconds));
    expect(key.subscription_end.seconds - first).toBe(9 * 60);
  });

  it('lists keys with cursor pagination and a status filter', async () => {
    // Its own keys, some revoked: other tests' keys may be listed too, so it checks only for these.
    const owners = Array.from({ length: 120 }, (_, i) => `page-${i}`);
    const granted = await Promise.all(owners.map((o) => api.grant(o, DAY)));
    const revokedOwners = owners.filter((_, i) => i % 3 === 0);
    await Promise.all(revokedOwners.map((o) => api.revoke(o)));
    const listed: string[] = [];
    let pages = 0;
    let token = '';
    do {
      const page = await api.list({ page_size: 50, page_token: token, status: 'ACTIVE' });
      expect(page.keys.length).toBeLessThanOrEqual(50);
      for (const k of page.keys) {
        expect(k.status).toBe('ACTIVE');
        listed.push(k.uuid);
      }
      pages++;
      token = page.next_page_token;
    } while (token);
    expect(new Set(listed).size).toBe(listed.length);
    expect(pages).toBeGreaterThan(1);
    const listedSet = new Set(listed);
    const uuidOf = (o: string) => granted[owners.indexOf(o)].key.uuid;
    expect(owners.filter((o) => !revokedOwners.includes(o) && !listedSet.has(uuidOf(o)))).toEqual([]);
    expect(revokedOwners.filter((o) => listedSet.has(uuidOf(o)))).toEqual([]);
  });

  it('refuses bad input with INVALID_ARGUMENT and unknown owners with NOT_FOUND', async () => {
    const before = (await api.list({ page_size: 1000 })).keys.length;
    const bad: [string, number, string][] = [
      ['', DAY, ''],
      ['   ', DAY, ''],
      ['x'.repeat(129), DAY, ''],
      ['eve', 0, ''],
      ['eve', -5, ''],
      ['eve', 400 * 366 * DAY, ''],
      ['eve', DAY, 'not a valid id!'],
      ['bad\u0000owner', DAY, ''],
    ];
    for (const [owner, duration, requestId] of bad) {
      expect(await grpcCode(api.grant(owner, duration, requestId))).toBe(status.INVALID_ARGUMENT);
    }
    expect(await grpcCode(api.get('nobody'))).toBe(status.NOT_FOUND);
    expect(await grpcCode(api.revoke('nobody'))).toBe(status.NOT_FOUND);
    expect(await grpcCode(api.list({ page_token: 'garbage' }))).toBe(status.INVALID_ARGUMENT);
    expect(await grpcCode(api.list({ page_size: 5000 }))).toBe(status.INVALID_ARGUMENT);
    expect((await api.list({ page_size: 1000 })).keys.length).toBe(before);
  });

  it('serves the standard gRPC health service', async () => {
    expect(await api.call('Check', { service: '' })).toEqual({ status: 'SERVING' });
  });

  it('grants, renews and revokes without restarting the core', async () => {
    // The core's own uptime, read beside keyd: it only goes backwards if the core restarted.
    const direct = new XrayClient({ core: { apiAddr: core.apiAddr, flavor: 'v2ray', callTimeoutMs: 5000 } } as never);
    try {
      const before = (await direct.sysStats()).uptimeSeconds;
      await api.grant('uptime-owner', DAY);
      await api.grant('uptime-owner', DAY);
      await api.revoke('uptime-owner');
      await new Promise((r) => setTimeout(r, 1100));
      expect((await direct.sysStats()).uptimeSeconds).toBeGreaterThan(before);
    } finally {
      direct.close();
    }
  });
});

describe('gRPC API token', () => {
  const token = 'a-long-enough-api-token-0123456789';
  let dir: string;
  let keyd: KeydProcess;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keyd-e2e-auth-'));
    const core = await startCore({ dir });
    keyd = await createKeyd({
      dbPath: join(dir, 'keyd.sqlite'),
      coreApiAddr: core.apiAddr,
      env: { KEYD_API_TOKEN: token },
    });
    await keyd.start();
  });

  afterAll(async () => {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses calls without the token or with a wrong one, and changes nothing', async () => {
    const anonymous = keyd.client();
    const wrong = keyd.client('a-long-enough-but-wrong-token-000');
    const right = keyd.client(token);
    try {
      expect(await grpcCode(anonymous.grant('mallory', DAY))).toBe(status.UNAUTHENTICATED);
      expect(await grpcCode(wrong.grant('mallory', DAY))).toBe(status.UNAUTHENTICATED);
      expect(await grpcCode(right.get('mallory'))).toBe(status.NOT_FOUND);
      expect((await right.grant('mallory', DAY)).action).toBe('ISSUED');
      expect(keyd.logs()).not.toContain(token);
    } finally {
      [anonymous, wrong, right].forEach((c) => c.close());
    }
  });
});

describe('configuration', () => {
  it('refuses to start on invalid variables and names each one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyd-e2e-config-'));
    try {
      const keyd = await createKeyd({
        dbPath: join(dir, 'keyd.sqlite'),
        coreApiAddr: '127.0.0.1:1',
        env: { XRAY_CORE: 'sing-box', KEYD_GRPC_LISTEN: 'nowhere', KEYD_LINK_SECURITY: 'reality' },
      });
      await keyd.start({ waitReady: false });
      expect(await keyd.exitCode()).not.toBe(0);
      const logs = keyd.logs();
      for (const name of ['XRAY_CORE', 'KEYD_GRPC_LISTEN', 'XRAY_REALITY_PUBLIC_KEY', 'XRAY_REALITY_SNI'])
        expect(logs).toContain(name);
    } finally {
      await stopAll();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
