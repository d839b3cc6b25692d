import * as grpc from '@grpc/grpc-js';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { eventually, grpcCode, KeydClient } from './support/keyd.harness';
import { startStack, Stack } from './support/stack.harness';

const DAY = 86_400;
const API_TOKEN = 'api-token-for-the-secrets-suite-0123';

describe('secrets stay secret', () => {
  let s: Stack;
  let api: KeydClient;

  beforeAll(async () => {
    // No KEYD_ADMIN_TOKEN: keyd generates admin.token, whose content must not reach the log either.
    s = await startStack({
      name: 'secrets',
      env: { KEYD_LOG_LEVEL: 'debug', KEYD_API_TOKEN: API_TOKEN, KEYD_STATS_INTERVAL_SECONDS: '1' },
    });
    api = s.keyd.client(API_TOKEN);
  });
  afterAll(async () => {
    api.close();
    await s.teardown();
  });

  it('gives a new key an email without its UUID', async () => {
    const { key } = await api.grant('tg:Email Owner', DAY);
    expect(key.email).toMatch(/^tg-email-owner\.[0-9a-f]{16}$/);
    expect(key.email).not.toContain(key.uuid);
    expect(key.email.toLowerCase()).not.toContain(key.uuid.slice(0, 8));
    // Another key of the same owner slug gets another email.
    expect((await api.grant('tg:email owner', DAY)).key.email).not.toBe(key.email);
  });

  it('keeps UUIDs and tokens out of a debug-level log of grants, renewals, retries, expiry, revocation and fetches', async () => {
    const subscribe = (url: string) => fetch(url).then((r) => r.status);
    const first = await api.grant('alice', DAY, 'pay-1');
    await api.grant('alice', DAY, 'pay-2');
    // The same request_id with another body is refused, and its line must not echo the key either.
    expect(await grpcCode(api.grant('alice', 2 * DAY, 'pay-1'))).toBe(grpc.status.INVALID_ARGUMENT);
    expect(await subscribe(first.key.subscription_url)).toBe(200);
    const renewedToken = (await api.regenerateSubscriptionToken('alice')).subscription_url;
    expect(await subscribe(first.key.subscription_url)).toBe(404);
    expect(await subscribe(renewedToken)).toBe(200);
    const shortLived = await api.grant('bob', 1);
    await eventually(async () => (await api.get('bob')).status === 'EXPIRED', 10_000);
    await api.revoke('alice');
    await eventually(async () => s.keyd.logs().includes('"event":"revoke"'), 5000);

    const logs = s.keyd.logs();
    // The log did record the session, so its silence about secrets means something.
    for (const event of ['"event":"grant"', '"event":"expire"', '"event":"revoke"', 'regenerate-subscription-token'])
      expect(logs).toContain(event);
    expect(logs).toContain('"level":20');
    const token = (url: string) => new URL(url).pathname.split('/').pop() ?? '';
    const adminToken = readFileSync(join(s.dir, 'admin.token'), 'utf8').trim();
    const secrets = {
      'alice uuid': first.key.uuid,
      'bob uuid': shortLived.key.uuid,
      'first subscription token': token(first.key.subscription_url),
      'second subscription token': token(renewedToken),
      'bob subscription token': token(shortLived.key.subscription_url),
      'API token': API_TOKEN,
      'admin token': adminToken,
    };
    for (const [name, secret] of Object.entries(secrets)) {
      expect(secret.length).toBeGreaterThanOrEqual(16);
      expect({ [name]: logs.includes(secret) }).toEqual({ [name]: false });
    }
    // Nor any other UUID, in any form.
    expect(logs).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i);
  });
});

describe("keyd's files stay private", () => {
  let s: Stack;
  let own: string;
  const data = () => join(own, 'data');
  const modeOf = (path: string) => (statSync(path).mode & 0o777).toString(8);

  beforeAll(async () => {
    own = mkdtempSync(join(tmpdir(), 'keyd-e2e-files-'));
    // The core binary keyd runs for its check records the environment it was given.
    const core = join(own, 'core.sh');
    writeFileSync(core, `#!/bin/sh\nenv > ${join(own, 'core.env')}\nexec v2ray "$@"\n`);
    chmodSync(core, 0o755);
    s = await startStack({
      name: 'files',
      env: { KEYD_DB_PATH: join(data(), 'keyd.sqlite'), KEYD_API_TOKEN: API_TOKEN, XRAY_BIN: core },
    });
  });
  afterAll(async () => {
    await s.teardown();
    rmSync(own, { recursive: true, force: true });
  });

  it('makes the database, its -wal and -shm files, their directory and admin.token private', () => {
    expect({
      dir: modeOf(data()),
      db: modeOf(join(data(), 'keyd.sqlite')),
      wal: modeOf(join(data(), 'keyd.sqlite-wal')),
      shm: modeOf(join(data(), 'keyd.sqlite-shm')),
      adminToken: modeOf(join(data(), 'admin.token')),
    }).toEqual({ dir: '700', db: '600', wal: '600', shm: '600', adminToken: '600' });
  });

  it("keeps the core config's mode 0600 when it rewrites it, keeps .last-good private, and runs the core without keyd's tokens", async () => {
    chmodSync(s.livePath, 0o600);
    const api = s.keyd.client(API_TOKEN);
    try {
      const { key } = await api.grant('file-owner', DAY);
      await eventually(async () => readFileSync(s.livePath, 'utf8').includes(key.email), 20_000);
    } finally {
      api.close();
    }
    expect({ config: modeOf(s.livePath), lastGood: modeOf(`${s.livePath}.last-good`) }).toEqual({
      config: '600',
      lastGood: '600',
    });
    const coreEnv = readFileSync(join(own, 'core.env'), 'utf8');
    // The check did run, with the environment's other variables intact.
    expect(coreEnv).toMatch(/^PATH=/m);
    expect(coreEnv).not.toContain(API_TOKEN);
    expect(coreEnv).not.toMatch(/^KEYD_/m);
  });
});
