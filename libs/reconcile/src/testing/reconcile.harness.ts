import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeydConfig } from '@keyd/config';
import { Clock, Key } from '@keyd/domain';
import {
  BulkPushTracker,
  GrantRecorder,
  GrantService,
  KeyAdminService,
  KeyChanges,
  KeyEvents,
  KeyFactory,
  KeySyncService,
  OwnerLocks,
} from '@keyd/keys';
import { AppLogger, CoreReads, createLogger, Metrics, Readiness } from '@keyd/observability';
import { CoreStateRepository, KeyRepository, NodeRecord, NodeRepository, StoreDatabase } from '@keyd/store';
import { XrayClient } from '@keyd/xray';
// The fake core is deliberately not exported from @keyd/xray, so production code cannot reach it.
import { FakeCore, FakeFlavor, startFakeCore } from '@keyd/xray/testing';
import { ConfigFileWriter } from '../config-file.writer';
import { CoreMonitor } from '../core.monitor';
import { CoreRecovery } from '../core-recovery.service';
import { ExpiryScheduler } from '../expiry.scheduler';
import { KeyExpirer } from '../key.expirer';
import { KeyPusher } from '../key.pusher';
import { CoreRepair } from '../core-repair.service';
import { LiveDrift } from '../live-drift.service';
import { PendingChanges } from '../pending.changes';
import { ReconcileService } from '../reconcile.service';

export const TAG = 'vless-in';
export const DAY_S = 86_400;
/** grpc status UNAVAILABLE: what a core that went away answers. */
export const UNAVAILABLE = 14;

export interface HarnessOptions {
  clock: Clock;
  /** Default v2ray: a core that cannot list its users, so passes rely on recovery. */
  flavor?: FakeFlavor;
  listUsers?: boolean;
  /** Recovery replays from the config file only when one is configured; nothing is written to it here. */
  configPath?: string;
}

export interface AlterCalls {
  adds: number;
  removes: number;
}

/**
 * The services of KeysModule and ReconcileModule, wired by hand as Nest would
 * wire them, over a real SQLite file in a temp directory and the in-process
 * fake core. Nothing here is a mock.
 */
export class ReconcileHarness {
  private constructor(
    readonly dir: string,
    readonly config: KeydConfig,
    readonly clock: Clock,
    readonly fake: FakeCore,
    readonly core: XrayClient,
    readonly db: StoreDatabase,
    readonly keys: KeyRepository,
    readonly coreState: CoreStateRepository,
    readonly node: NodeRecord,
    readonly log: AppLogger,
    readonly readiness: Readiness,
    readonly locks: OwnerLocks,
    readonly events: KeyEvents,
    readonly sync: KeySyncService,
    readonly grants: GrantService,
    readonly admin: KeyAdminService,
    readonly pusher: KeyPusher,
    readonly recovery: CoreRecovery,
    readonly expirer: KeyExpirer,
    readonly monitor: CoreMonitor,
    readonly reconcile: ReconcileService,
    readonly scheduler: ExpiryScheduler,
    readonly configFile: ConfigFileWriter,
  ) {}

  static async start(opts: HarnessOptions): Promise<ReconcileHarness> {
    const flavor = opts.flavor ?? 'v2ray';
    const dir = mkdtempSync(join(tmpdir(), 'keyd-reconcile-'));
    const fake = await startFakeCore({ flavor, listUsers: opts.listUsers });
    const config: KeydConfig = {
      db: { path: join(dir, 'keyd.sqlite') },
      grpc: { listen: { host: '127.0.0.1', port: 0 }, allowUnauthenticated: false, maxConnections: 1 },
      http: { listen: { host: '127.0.0.1', port: 0 }, bodyLimitBytes: 65_536, maxConnections: 512 },
      log: { level: 'silent' },
      node: { name: 'default' },
      core: {
        apiAddr: fake.addr,
        flavor,
        inboundTag: TAG,
        flow: 'xtls-rprx-vision',
        userLevel: 0,
        // Generous: the fake core encodes a 50k-user listing in this same process, which on a loaded
        // machine holds the event loop long enough to fail a short deadline.
        callTimeoutMs: 10_000,
        // Probes and passes run only when a test asks for them.
        probeIntervalMs: 3_600_000,
        configPath: opts.configPath,
        binEnv: {},
        configWriteWindowMs: 1000,
      },
      sessions: { deviceWindowSeconds: 60 },
      reconcile: { intervalSeconds: 3600 },
      stats: { intervalSeconds: 3600 },
      memory: { heapGrowthPercent: 0 },
      requests: { retentionDays: 30 },
      subscription: {
        listen: { host: '127.0.0.1', port: 0 },
        publicUrl: 'http://127.0.0.1:8081',
        ratePerMinute: 60,
        rateBurst: 10,
        trustedProxies: [],
        maxConnections: 2048,
        maxConnectionsPerClient: 32,
        updateIntervalHours: 12,
        title: 'keyd',
      },
      readiness: { coreGraceSeconds: 30 },
      fleet: { role: 'standalone', grantWaitMs: 2000 },
      link: { host: '127.0.0.1', port: 443, security: 'none', type: 'tcp', name: 'keyd' },
    };
    const db = await StoreDatabase.open(config.db.path);
    const keys = new KeyRepository(db);
    const coreState = new CoreStateRepository(db);
    const node = await new NodeRepository(db).seed(
      { name: config.node.name, apiAddr: config.core.apiAddr, flavor },
      opts.clock.now(),
    );
    const log = createLogger('silent', false);
    const readiness = new Readiness(config.readiness.coreGraceSeconds * 1000);
    const core = new XrayClient(config);
    const locks = new OwnerLocks();
    const events = new KeyEvents();
    const sync = new KeySyncService(core, keys, locks, events, log, config);
    const grants = new GrantService(
      keys,
      sync,
      new KeyFactory(node, config),
      new GrantRecorder(events, log),
      opts.clock,
    );
    const admin = new KeyAdminService(new KeyChanges(keys, sync, events, opts.clock, log));
    const pusher = new KeyPusher(keys, sync);
    const recovery = new CoreRecovery(sync, keys, coreState, pusher, config, log);
    const expirer = new KeyExpirer(keys, sync, events, opts.clock, log);
    const reads = new CoreReads(new Metrics(), log);
    const monitor = new CoreMonitor(core, readiness, reads, log, config);
    const repair = new CoreRepair(core, new LiveDrift(core, keys, sync, config, log), recovery, reads, config);
    const reconcile = new ReconcileService(
      monitor,
      expirer,
      repair,
      new PendingChanges(keys, sync, new BulkPushTracker()),
      log,
    );
    const scheduler = new ExpiryScheduler(keys, opts.clock, log);
    const configFile = new ConfigFileWriter(keys, coreState, config, log);
    return new ReconcileHarness(
      dir,
      config,
      opts.clock,
      fake,
      core,
      db,
      keys,
      coreState,
      node,
      log,
      readiness,
      locks,
      events,
      sync,
      grants,
      admin,
      pusher,
      recovery,
      expirer,
      monitor,
      reconcile,
      scheduler,
      configFile,
    );
  }

  grant(owner: string, seconds = 30 * DAY_S): Promise<Key> {
    return this.grants.grant({ ownerId: owner, durationSeconds: seconds }).then((r) => r.key);
  }

  /** A grant whose push to the core fails: committed, pending, absent from the core. */
  grantPending(owner: string, seconds = 30 * DAY_S): Promise<Key> {
    this.fake.failNext(UNAVAILABLE, 'connection refused');
    return this.grant(owner, seconds);
  }

  revoke(owner: string): Promise<Key> {
    return this.admin.revoke(owner);
  }

  /** A revoke whose removal fails: REVOKED and pending in the database, still in the core. */
  revokePending(owner: string): Promise<Key> {
    this.fake.failNext(UNAVAILABLE, 'connection refused');
    return this.revoke(owner);
  }

  async key(id: number): Promise<Key> {
    const key = await this.keys.getById(id);
    if (!key) throw new Error(`no key ${id}`);
    return key;
  }

  /** Every row, for comparing the whole database before and after. */
  allKeys(): Promise<Key[]> {
    return this.keys.list({ afterId: 0, limit: 100_000 });
  }

  /** The emails the core holds, sorted. */
  coreEmails(): string[] {
    return this.fake
      .users(TAG)
      .map((u) => u.email)
      .sort();
  }

  /** Adds a key to the core behind keyd's back, as a core booting from its config file would hold it. */
  async putInCore(key: Pick<Key, 'email' | 'uuid' | 'flow'>): Promise<void> {
    await this.core.addUser(TAG, { email: key.email, uuid: key.uuid, flow: key.flow, level: 0 });
  }

  /** Adds and removes the core received since the given number of calls. */
  alterCallsSince(from: number): AlterCalls {
    const alters = this.fake.calls.slice(from).filter((c) => c.method === 'AlterInbound');
    return {
      adds: alters.filter((c) => c.type?.endsWith('.AddUserOperation')).length,
      removes: alters.filter((c) => c.type?.endsWith('.RemoveUserOperation')).length,
    };
  }

  async close(): Promise<void> {
    this.scheduler.onModuleDestroy();
    this.monitor.onModuleDestroy();
    this.configFile.onModuleDestroy();
    this.core.close();
    await this.fake.stop();
    await this.reconcile.drain();
    await this.db.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export const emailsOf = (keys: Pick<Key, 'email'>[]) => keys.map((k) => k.email).sort();
