import { ChildProcess, execFileSync, spawn } from 'child_process';
import { createHash, randomBytes } from 'crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { CoreProcess, startCore } from '../support/core.harness';
import { createKeyd, eventually, KeydProcess } from '../support/keyd.harness';
import { stopAll, stopProcess, track } from '../support/processes.harness';

const DAY = 86_400;
const TOKEN = 'storage-faults-admin-token-000000000';
const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/**
 * Makes a directory refuse writes even to root: a tiny tmpfs that fills up (a
 * full disk), or, where mounting is not allowed, the immutable attribute.
 */
class Blocker {
  private mode: 'tmpfs' | 'immutable' | null = null;
  constructor(readonly dir: string) {}

  /** Mounts a tmpfs of `bytes` over the directory, or marks it immutable. Returns which. */
  block(bytes: number): 'tmpfs' | 'immutable' {
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', this.dir], { stdio: 'pipe' });
      this.mode = 'tmpfs';
    } catch {
      execFileSync('chattr', ['+i', this.dir], { stdio: 'pipe' });
      this.mode = 'immutable';
    }
    return this.mode;
  }

  release(): void {
    if (this.mode === 'tmpfs') execFileSync('mount', ['-o', 'remount,size=64m', this.dir]);
    if (this.mode === 'immutable') execFileSync('chattr', ['-i', this.dir]);
  }

  cleanup(): void {
    if (this.mode === 'tmpfs') execFileSync('umount', ['-l', this.dir], { stdio: 'ignore' });
    if (this.mode === 'immutable') execFileSync('chattr', ['-i', this.dir], { stdio: 'ignore' });
    this.mode = null;
  }
}

describe('fault: the config file cannot be written', () => {
  let dir: string;
  let core: CoreProcess;
  let keyd: KeydProcess;
  let blocker: Blocker;
  let livePath: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keyd-fault-cfg-'));
    core = await startCore({ dir });
    const cfgDir = join(dir, 'cfg');
    mkdirSync(cfgDir);
    blocker = new Blocker(cfgDir);
    // A full disk: room for the base file, not for one with hundreds of clients.
    blocker.block(64 * 1024);
    livePath = join(cfgDir, 'core-live.json');
    copyFileSync(core.configPath, livePath);
    keyd = await createKeyd({
      dbPath: join(dir, 'keyd.sqlite'),
      coreApiAddr: core.apiAddr,
      env: { XRAY_CONFIG_PATH: livePath, KEYD_CONFIG_WRITE_WINDOW_MS: '100', KEYD_ADMIN_TOKEN: TOKEN },
    });
    await keyd.start();
  });

  afterAll(async () => {
    await stopAll();
    blocker.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const status = async () =>
    (await (await fetch(`${keyd.httpUrl}/v1/status`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as {
      keys: { ACTIVE: number };
      config_file: { failures: number; last_error: string | null; last_write_at: string | null };
    };

  it('still commits grants, reports the failure, and recovers when the disk has room again', async () => {
    const api = keyd.client();
    try {
      const granted = await Promise.all(Array.from({ length: 600 }, (_, i) => api.grant(`disk-${i}`, DAY)));
      expect(granted.every((g) => g.action === 'ISSUED' && g.key.provisioned)).toBe(true);
      expect((await status()).keys.ACTIVE).toBe(600);
      expect(await eventually(async () => (await status()).config_file.failures > 0, 10_000)).toBe(true);
      expect((await status()).config_file.last_error).toMatch(/ENOSPC|EPERM|EACCES|read-only/);
      const metrics = await (await fetch(`${keyd.httpUrl}/metrics`)).text();
      expect(metrics).toMatch(/keyd_config_file_writes_total\{result="failed"\} [1-9]/);
      // The old file is intact and still valid, never half-written.
      expect(() => JSON.parse(readFileSync(livePath, 'utf8'))).not.toThrow();

      blocker.release();
      const recovered = async () => {
        const config = JSON.parse(readFileSync(livePath, 'utf8')) as {
          inbounds: { tag: string; settings: { clients?: unknown[] } }[];
        };
        return config.inbounds.find((i) => i.tag === 'vless-in')?.settings.clients?.length === 600;
      };
      expect(await eventually(recovered, 30_000, 500)).toBe(true);
      expect(await eventually(async () => (await status()).config_file.last_error === null, 5_000)).toBe(true);
    } finally {
      api.close();
    }
  });
});

describe('fault: an unusable database at start', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'keyd-fault-db-'))));
  afterEach(async () => {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a corrupted file with a clear error, exits non-zero and leaves the file as it was', async () => {
    const db = join(dir, 'keyd.sqlite');
    writeFileSync(db, randomBytes(64 * 1024));
    const before = sha(db);
    const keyd = await createKeyd({ dbPath: db, coreApiAddr: '127.0.0.1:1' });
    await keyd.start({ waitReady: false });
    expect(await keyd.exitCode()).not.toBe(0);
    expect(keyd.logs()).toMatch(/cannot open the database .*keyd\.sqlite.*(not a database|malformed)/);
    expect(sha(db)).toBe(before);
  });

  it('refuses a database locked by another process, exits non-zero and leaves it as it was', async () => {
    const db = join(dir, 'keyd.sqlite');
    const first = await createKeyd({
      dbPath: db,
      coreApiAddr: '127.0.0.1:1',
      env: { KEYD_READY_CORE_GRACE_SECONDS: '3600' },
    });
    await first.start({ waitReady: false });
    await eventually(
      async () =>
        (await fetch(`${first.httpUrl}/healthz`).then(
          (r) => r.status,
          () => 0,
        )) === 200,
      15_000,
    );
    await first.kill('SIGTERM');
    const before = sha(db);
    const sqlite3 = resolve(__dirname, '../../node_modules/sqlite3');
    const holder: ChildProcess = track(
      spawn(
        process.execPath,
        [
          '-e',
          `
        const s = require(${JSON.stringify(sqlite3)});
        const db = new s.Database(${JSON.stringify(db)});
        db.exec('PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE; SELECT 1;', (e) => { if (e) throw e; process.stdout.write('locked\\n'); });
        setInterval(() => {}, 1000);
      `,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      ),
    );
    await new Promise<void>((res) => holder.stdout?.once('data', () => res()));
    try {
      const keyd = await createKeyd({ dbPath: db, coreApiAddr: '127.0.0.1:1' });
      await keyd.start({ waitReady: false });
      expect(await keyd.exitCode(30_000)).not.toBe(0);
      expect(keyd.logs()).toMatch(/cannot open the database .*database is locked/);
    } finally {
      await stopProcess(holder);
    }
    expect(sha(db)).toBe(before);
  });
});
