import { randomUUID } from 'crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { runKeyd } from './support/cli.harness';
import { CoreProcess, startCore } from './support/core.harness';
import { createKeyd, eventually, KeydProcess } from './support/keyd.harness';
import { stopAll } from './support/processes.harness';
import { HttpTarget, startHttpTarget } from './support/target.harness';
import { probeKeys } from './support/vless-client.harness';

const DAY = 86_400_000;

interface Row {
  owner: string;
  uuid: string;
  end: Date;
  email: string;
}

interface Report {
  dry_run: boolean;
  rows: number;
  config_clients: number;
  imported_active: number;
  imported_expired: number;
  healed: number;
  unchanged: number;
  conflicts: unknown[];
  orphans: unknown[];
  invalid: unknown[];
  provisioned: number;
  provision_failed: number;
  changes: number;
}

interface ListedKey {
  owner_id: string;
  uuid: string;
  status: string;
}

/**
 * The migration as the README tells it, against a real core: the old core runs
 * from its config (200 clients), keyd is started on that same file, and the
 * owners file (220 rows: 20 the config lost, 10 past their end) is imported
 * with the CLI.
 */
describe('keyd import: adopting an old config and owners file', () => {
  let dir: string;
  let target: HttpTarget;
  let core: CoreProcess;
  let keyd: KeydProcess;
  let env: Record<string, string>;
  let configPath: string;
  let ownersPath: string;
  const now = Date.now();
  // Rows 0-9 ended yesterday; 200-219 are missing from the config; even rows had an email in the old config.
  const rows: Row[] = Array.from({ length: 220 }, (_, i) => ({
    owner: `user-${i}`,
    uuid: randomUUID(),
    end: new Date(now + (i < 10 ? -DAY : 30 * DAY)),
    email: i % 2 === 0 ? `user${i}@old.example` : '',
  }));
  const inConfig = rows.slice(0, 200);
  const healed = rows.slice(200);
  const active = rows.slice(10);
  const expiredWithEmail = rows.slice(0, 10).filter((r) => r.email);

  const keydCli = (...args: string[]) => runKeyd(args, env);
  const importArgs = (...extra: string[]) => ['import', '--config', configPath, '--owners', ownersPath, ...extra];
  const listAll = async (): Promise<ListedKey[]> => {
    const r = await keydCli('list', '--limit', '1000', '--json');
    expect(r.code).toBe(0);
    return (JSON.parse(r.stdout) as { keys: ListedKey[] }).keys;
  };
  const fileClients = () =>
    (
      JSON.parse(readFileSync(configPath, 'utf8')) as {
        inbounds: { tag: string; settings: { clients?: { id: string }[] } }[];
      }
    ).inbounds
      .find((i) => i.tag === 'vless-in')
      ?.settings.clients?.map((c) => c.id) ?? [];
  const probe = (uuids: string[]) => probeKeys({ vlessPort: core.vlessPort, uuids, target });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keyd-e2e-import-'));
    target = await startHttpTarget();
    core = await startCore({
      dir,
      clients: inConfig
        .map((r) => ({ id: r.uuid, email: r.email }))
        .map((c) => (c.email ? c : { id: c.id, email: '' })),
    });
    configPath = join(dir, 'config.json');
    copyFileSync(core.configPath, configPath);
    // The legacy form: clients without an email carry none at all.
    const legacy = JSON.parse(readFileSync(configPath, 'utf8')) as {
      inbounds: { settings: { clients?: Record<string, unknown>[] } }[];
    };
    for (const c of legacy.inbounds[1].settings.clients ?? []) if (c['email'] === '') delete c['email'];
    writeFileSync(configPath, JSON.stringify(legacy, null, 2));
    await core.restart(configPath);
    ownersPath = join(dir, 'owners.csv');
    writeFileSync(
      ownersPath,
      [
        'owner_id,uuid,subscription_end',
        ...rows.map(
          (r, i) => `${r.owner},${r.uuid},${i % 3 === 0 ? Math.floor(r.end.getTime() / 1000) : r.end.toISOString()}`,
        ),
      ].join('\n'),
    );
    keyd = await createKeyd({
      dbPath: join(dir, 'keyd.sqlite'),
      coreApiAddr: core.apiAddr,
      env: { XRAY_CONFIG_PATH: configPath, XRAY_BIN: 'v2ray', KEYD_CONFIG_WRITE_WINDOW_MS: '200' },
    });
    await keyd.start();
    env = { KEYD_GRPC_LISTEN: keyd.grpcAddr };
  });

  afterAll(async () => {
    await stopAll();
    await target?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('keyd started on the old config leaves its clients there before the import', async () => {
    const status = JSON.parse((await keydCli('status', '--json')).stdout) as { config_file: { last_write_at: string } };
    expect(status.config_file.last_write_at).toBeTruthy();
    expect(new Set(fileClients())).toEqual(new Set(inConfig.map((r) => r.uuid)));
  });

  it('refuses a bad file whole, naming each bad line, and writes nothing', async () => {
    const bad = join(dir, 'bad.csv');
    const lines = [
      'owner_id,uuid,subscription_end',
      ...rows.slice(0, 5).map((r) => `${r.owner},${r.uuid},${r.end.toISOString()}`),
    ];
    lines[2] = `${rows[1].owner},not-a-uuid,${rows[1].end.toISOString()}`;
    lines[3] = `${rows[2].owner},${rows[2].uuid},next tuesday`;
    lines.push(`someone-else,${rows[4].uuid},${rows[4].end.toISOString()}`);
    writeFileSync(bad, lines.join('\n'));
    const r = await runKeyd(['import', '--config', configPath, '--owners', bad], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('refused and nothing was written: 4 invalid rows');
    expect(r.stderr).toMatch(/line 3: uuid: is not a UUID/);
    expect(r.stderr).toMatch(/line 4: subscription_end/);
    expect(r.stderr).toMatch(/line 6: uuid: also on line 7/);
    expect(r.stderr).toMatch(/line 7: uuid: also on line 6/);
    expect(await listAll()).toEqual([]);
  });

  it('dry run prints the full report and changes nothing', async () => {
    const before = readFileSync(configPath, 'utf8');
    const text = await keydCli(...importArgs('--dry-run'));
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^Dry run: nothing was written/);
    expect(text.stdout).toMatch(/imported\s+210 active \(20 healed: missing from the config\), 10 expired/);
    const r = await keydCli(...importArgs('--dry-run', '--json'));
    const report = JSON.parse(r.stdout) as Report;
    expect(report).toMatchObject({
      dry_run: true,
      rows: 220,
      config_clients: 200,
      imported_active: 210,
      imported_expired: 10,
      healed: 20,
      changes: 220,
      provisioned: 0,
    });
    expect(await listAll()).toEqual([]);
    expect(readFileSync(configPath, 'utf8')).toBe(before);
  });

  it('imports every row with its UUID and the right status', async () => {
    const r = await keydCli(...importArgs('--json'));
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report).toMatchObject({
      dry_run: false,
      imported_active: 210,
      imported_expired: 10,
      healed: 20,
      unchanged: 0,
      conflicts: [],
      orphans: [],
      invalid: [],
      changes: 220,
      provision_failed: 0,
    });
    const keys = new Map((await listAll()).map((k) => [k.owner_id, k]));
    expect(keys.size).toBe(220);
    for (const [i, row] of rows.entries()) {
      expect(keys.get(row.owner)).toMatchObject({ uuid: row.uuid, status: i < 10 ? 'EXPIRED' : 'ACTIVE' });
    }
  });

  it('old UUIDs pass traffic, the 20 healed ones too; expired ones stop', async () => {
    const old = await probe([rows[10].uuid, rows[11].uuid, rows[150].uuid]);
    expect([...old.values()]).toEqual([true, true, true]);
    const results = await probe(healed.map((r) => r.uuid));
    expect([...results.values()].filter(Boolean)).toHaveLength(20);
    const expired = await probe(expiredWithEmail.map((r) => r.uuid));
    expect([...expired.values()].some(Boolean)).toBe(false);
  });

  it('the config file then holds exactly the active keys, and a core restarted from it serves them', async () => {
    await eventually(async () => fileClients().length === 210, 10_000);
    expect(new Set(fileClients())).toEqual(new Set(active.map((r) => r.uuid)));
    await core.restart(configPath);
    const after = await probe([...healed.slice(0, 5), rows[10], rows[99]].map((r) => r.uuid));
    expect([...after.values()].every(Boolean)).toBe(true);
    const expired = await probe(rows.slice(0, 10).map((r) => r.uuid));
    expect([...expired.values()].some(Boolean)).toBe(false);
  });

  it('a second run changes nothing', async () => {
    const r = await keydCli(...importArgs('--json'));
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout) as Report).toMatchObject({ changes: 0, unchanged: 220, imported_active: 0 });
    const text = await keydCli(...importArgs());
    expect(text.stdout).toMatch(/changes\s+0/);
    expect(await listAll()).toHaveLength(220);
  });
});
