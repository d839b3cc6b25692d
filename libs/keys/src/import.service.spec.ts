import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeydConfig } from '@keyd/config';
import { InvalidArgumentError } from '@keyd/domain';
import { createLogger } from '@keyd/observability';
import { KeyRepository, NodeRepository, StoreDatabase } from '@keyd/store';
import { XrayClient } from '@keyd/xray';
import { FakeCore, startFakeCore } from '@keyd/xray/testing';
import { BulkPushTracker } from './bulk-push.tracker';
import { GrantRecorder } from './grant.recorder';
import { GrantService } from './grant.service';
import { BulkPusher } from './bulk.pusher';
import { ImportService } from './import.service';
import { ImportOptions, ImportRowInput } from './import.types';
import { KeyEvents } from './key.events';
import { KeyFactory } from './key.factory';
import { KeySyncService } from './key-sync.service';
import { OwnerLocks } from './owner.locks';

const TAG = 'vless-in';
const NOW = new Date('2030-03-01T00:00:00Z');
const clock = { now: () => NOW };
const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const row = (line: number, owner: string, n: number, end = '2030-04-01T00:00:00Z'): ImportRowInput => ({
  line,
  ownerId: owner,
  uuid: uuid(n),
  subscriptionEnd: end,
  dataLimitBytes: '',
  limitReset: '',
});
const opts = (o: Partial<ImportOptions> = {}): ImportOptions => ({
  dryRun: false,
  orphans: 'skip',
  replace: false,
  skipInvalid: false,
  orphanDurationSeconds: 86_400,
  ...o,
});

describe('ImportService', () => {
  let dir: string;
  let db: StoreDatabase;
  let fake: FakeCore;
  let core: XrayClient;
  let keys: KeyRepository;
  let imports: ImportService;
  let grants: GrantService;
  const inCore = () => new Set(fake.users(TAG).map((u) => u.uuid));

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keyd-import-'));
    fake = await startFakeCore({ flavor: 'v2ray' });
    const config = {
      core: { apiAddr: fake.addr, flavor: 'v2ray', inboundTag: TAG, flow: '', userLevel: 0, callTimeoutMs: 3000 },
    } as unknown as KeydConfig;
    db = await StoreDatabase.open(join(dir, 'keyd.sqlite'));
    keys = new KeyRepository(db);
    const node = await new NodeRepository(db).seed({ name: 'default', apiAddr: fake.addr, flavor: 'v2ray' }, NOW);
    const log = createLogger('silent', false);
    const events = new KeyEvents();
    core = new XrayClient(config);
    const sync = new KeySyncService(core, keys, new OwnerLocks(), events, log, config);
    const factory = new KeyFactory(node, config);
    imports = new ImportService(
      keys,
      factory,
      new BulkPusher(keys, sync, new BulkPushTracker(), events),
      events,
      clock,
      log,
    );
    grants = new GrantService(keys, sync, factory, new GrantRecorder(events, log), clock);
  });

  afterEach(async () => {
    core.close();
    await fake.stop();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps UUIDs, parses both date forms, and adds only the active keys to the core', async () => {
    const r = await imports.run({
      rows: [row(2, 'alice', 1), row(3, 'bob', 2, String(NOW.getTime() / 1000 - 60)), row(4, 'carol', 3, '1900000000')],
      clients: [],
      options: opts(),
    });
    expect(r).toMatchObject({ importedActive: 2, importedExpired: 1, healed: 2, provisioned: 2, changes: 3 });
    expect((await keys.findCurrentByOwner('alice'))?.uuid).toBe(uuid(1));
    expect((await keys.findCurrentByOwner('bob'))?.status).toBe('EXPIRED');
    expect((await keys.findCurrentByOwner('carol'))?.subscriptionEnd).toEqual(new Date(1_900_000_000_000));
    expect(inCore()).toEqual(new Set([uuid(1), uuid(3)]));
  });

  it('refuses the whole file on a bad row, or with skipInvalid imports the rest and lists it', async () => {
    const rows = [
      row(2, 'alice', 1),
      { ...row(3, 'bob', 2), uuid: 'nope' },
      row(4, 'carol', 1),
      row(5, 'dave', 5, 'soon'),
    ];
    const refused = await imports.run({ rows, clients: [], options: opts() }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(InvalidArgumentError);
    expect((refused as Error).message).toMatch(/line 2: uuid: also on line 4[\s\S]*line 3[\s\S]*line 4[\s\S]*line 5/);
    expect(await keys.countByStatus()).toEqual({ ACTIVE: 0, EXPIRED: 0, REVOKED: 0, SUSPENDED: 0 });
    const r = await imports.run({
      rows: [...rows, row(6, 'erin', 6)],
      clients: [],
      options: opts({ skipInvalid: true }),
    });
    expect(r.invalid.map((i) => i.line)).toEqual([2, 3, 4, 5]);
    expect(r.importedActive).toBe(1);
    expect(inCore()).toEqual(new Set([uuid(6)]));
  });

  it('refuses two live rows for one owner, but takes an expired and a live one', async () => {
    const past = '2030-01-01T00:00:00Z';
    await expect(
      imports.run({ rows: [row(2, 'alice', 1), row(3, 'alice', 2)], clients: [], options: opts() }),
    ).rejects.toThrow(/line 2: owner_id: another live row on line 3/);
    const r = await imports.run({ rows: [row(2, 'alice', 1), row(3, 'alice', 2, past)], clients: [], options: opts() });
    expect(r).toMatchObject({ importedActive: 1, importedExpired: 1 });
  });

  it('skips an owner with a live key as a conflict, and replaces it with replace', async () => {
    const live = (await grants.grant({ ownerId: 'alice', durationSeconds: 86_400 })).key;
    const conflicted = await imports.run({ rows: [row(2, 'alice', 1)], clients: [], options: opts() });
    expect(conflicted.conflicts).toEqual([
      expect.objectContaining({ line: 2, reason: expect.stringMatching(/live key/) }),
    ]);
    expect(conflicted.changes).toBe(0);
    expect(inCore()).toEqual(new Set([live.uuid]));
    const replaced = await imports.run({ rows: [row(2, 'alice', 1)], clients: [], options: opts({ replace: true }) });
    expect(replaced).toMatchObject({ replaced: 1, importedActive: 1 });
    expect((await keys.getById(live.id))?.status).toBe('REVOKED');
    expect(inCore()).toEqual(new Set([uuid(1)]));
  });

  it('reports a UUID keyd holds for another owner as a conflict', async () => {
    await imports.run({ rows: [row(2, 'alice', 1)], clients: [], options: opts() });
    const r = await imports.run({ rows: [row(2, 'mallory', 1)], clients: [], options: opts() });
    expect(r.conflicts[0].reason).toMatch(/another owner/);
    expect(await keys.findCurrentByOwner('mallory')).toBeNull();
  });

  it('leaves orphans out, imports them as legacy:<uuid>, or revokes them out of the core', async () => {
    fake.seedUsers([{ email: 'old9@x', uuid: uuid(9), flow: '', level: 0 }], TAG);
    const clients = [{ uuid: uuid(9), email: 'old9@x' }];
    const skipped = await imports.run({ rows: [], clients, options: opts({ dryRun: false }) });
    expect(skipped.orphans.map((o) => o.uuid)).toEqual([uuid(9)]);
    expect(skipped.changes).toBe(0);
    const dry = await imports.run({ rows: [], clients, options: opts({ orphans: 'revoke', dryRun: true }) });
    expect(dry).toMatchObject({ orphansRevoked: 1, changes: 1 });
    expect(inCore()).toEqual(new Set([uuid(9)]));
    const revoked = await imports.run({ rows: [], clients, options: opts({ orphans: 'revoke' }) });
    expect(revoked).toMatchObject({ orphansRevoked: 1, provisioned: 1 });
    expect((await keys.findCurrentByOwner(`legacy:${uuid(9)}`))?.status).toBe('REVOKED');
    expect(inCore()).toEqual(new Set());
    const imported = await imports.run({
      rows: [],
      clients: [{ uuid: uuid(8), email: '' }],
      options: opts({ orphans: 'import' }),
    });
    expect(imported.orphansImported).toBe(1);
    expect((await keys.findCurrentByOwner(`legacy:${uuid(8)}`))?.subscriptionEnd).toEqual(
      new Date(NOW.getTime() + 86_400_000),
    );
    expect(inCore()).toEqual(new Set([uuid(8)]));
  });

  it('finishes the pushes an interrupted run left pending, and otherwise changes nothing the second time', async () => {
    fake.failNext(14, 'connection refused');
    const first = await imports.run({ rows: [row(2, 'alice', 1), row(3, 'bob', 2)], clients: [], options: opts() });
    expect(first.provisionFailed).toBe(1);
    const second = await imports.run({ rows: [row(2, 'alice', 1), row(3, 'bob', 2)], clients: [], options: opts() });
    expect(second).toMatchObject({ changes: 0, unchanged: 2, provisioned: 1, provisionFailed: 0 });
    expect(inCore()).toEqual(new Set([uuid(1), uuid(2)]));
  });
});
