import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import * as sqlite3 from 'sqlite3';
import { DataSource } from 'typeorm';
import { entities } from './entities';
import { migrations } from './migrations';
import { ReadQuery, SnapshotReader } from './snapshot.reader';
import { WriteQueue } from './write.queue';

export class StoreOpenError extends Error {
  constructor(path: string, cause: unknown) {
    super(`cannot open the database ${path}: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'StoreOpenError';
  }
}

/**
 * The database holds every key's UUID and subscription token, so it, its
 * -wal and -shm files and any directory keyd creates for them are private to
 * keyd's user, whatever the umask. SQLite gives the -wal and -shm files it
 * creates the database file's mode, so the file is created 0600 before SQLite
 * opens it; files an older keyd left more open are narrowed.
 */
function makePrivate(file: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  closeSync(openSync(file, 'a', 0o600));
  for (const path of [file, `${file}-wal`, `${file}-shm`]) {
    // Only a file others can reach is touched, so a private file another user owns still opens.
    const mode = statSync(path, { throwIfNoEntry: false })?.mode;
    if (mode !== undefined && mode & 0o077) chmodSync(path, 0o600);
  }
}

/** One SQL statement inside a unit of work: rows for a SELECT, TypeORM's result otherwise. */
export type SqlQuery = (sql: string, params?: unknown[]) => Promise<unknown[]>;

/** Whether the store answers: null when it does, else why not (the readiness probe asks). */
export abstract class StoreHealth {
  abstract check(): Promise<string | null>;
}

/** What this lib's repositories work with. Not exported from the lib's index: TypeORM stays inside libs/store. */
export interface StoreInternals {
  readonly source: DataSource;
  readonly writes: WriteQueue;
}

const internals = new WeakMap<StoreDatabase, StoreInternals>();

export function internalsOf(db: StoreDatabase): StoreInternals {
  const found = internals.get(db);
  if (!found) throw new Error('not an open StoreDatabase');
  return found;
}

/**
 * The open database: the DataSource for reads, the queue every write goes
 * through, and a read-only connection for consistent reads of many rows. Other
 * libs see only records (through the repositories), plain-SQL units of work and
 * the health check; the DataSource and EntityManagers stay in this lib.
 */
export class StoreDatabase implements StoreHealth {
  private readonly writes: WriteQueue;

  private constructor(
    private readonly source: DataSource,
    private readonly reader: SnapshotReader | null,
  ) {
    this.writes = new WriteQueue(() => source.createQueryRunner());
    internals.set(this, { source, writes: this.writes });
  }

  /**
   * Runs fn as one unit of work in the write queue: its statements commit
   * together or not at all. For seeding tools (tests, bench); keyd's own writes
   * go through the repositories.
   */
  transaction<T>(fn: (query: SqlQuery) => Promise<T>): Promise<T> {
    return this.writes.run((m) => fn((sql, params) => m.query(sql, params) as Promise<unknown[]>));
  }

  /**
   * Runs fn on one consistent view of the database without holding up writes.
   * An in-memory database has no second connection to read from, so there the
   * read waits its turn in the write queue instead.
   */
  consistentRead<T>(fn: (query: ReadQuery) => Promise<T>): Promise<T> {
    if (this.reader) return this.reader.read(fn);
    return this.writes.run((m) => fn((sql, params) => m.query(sql, params) as Promise<unknown[]>));
  }

  static async open(path: string): Promise<StoreDatabase> {
    const file = path === ':memory:' ? path : resolve(path);
    try {
      if (file !== ':memory:') makePrivate(file);
    } catch (e) {
      throw new StoreOpenError(file, e);
    }
    const dataSource = new DataSource({
      type: 'sqlite',
      // TypeORM switches sqlite3 to verbose mode, which captures a stack trace on every statement.
      driver: { ...sqlite3, verbose: () => sqlite3 },
      database: file,
      entities,
      migrations,
      synchronize: false,
      migrationsRun: false,
      logging: false,
    });
    try {
      await dataSource.initialize();
      // Fails on a file that is not a database, before anything is written to it.
      await dataSource.query('PRAGMA schema_version');
      await dataSource.query('PRAGMA busy_timeout = 5000');
      await dataSource.query('PRAGMA journal_mode = WAL');
      // FULL: an acknowledged grant survives a power loss, not only a crash of keyd.
      await dataSource.query('PRAGMA synchronous = FULL');
      await dataSource.query('PRAGMA foreign_keys = ON');
      // Refuse to start on a database another process holds for writing, rather than fail on the first grant.
      await dataSource.query('BEGIN IMMEDIATE');
      await dataSource.query('ROLLBACK');
      await dataSource.runMigrations({ transaction: 'each' });
    } catch (e) {
      if (dataSource.isInitialized) await dataSource.destroy().catch(() => undefined);
      throw new StoreOpenError(file, e);
    }
    try {
      return new StoreDatabase(dataSource, file === ':memory:' ? null : await SnapshotReader.open(file));
    } catch (e) {
      await dataSource.destroy().catch(() => undefined);
      throw new StoreOpenError(file, e);
    }
  }

  /** Null when a trivial query answers within a second, else why not. */
  async check(): Promise<string | null> {
    if (!this.source.isInitialized) return 'closed';
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<string>((resolve) => (timer = setTimeout(() => resolve('no answer within 1 s'), 1000)));
    const probe = this.source.query('SELECT 1').then(
      () => null,
      (e: unknown) => (e instanceof Error ? e.message : String(e)),
    );
    try {
      return await Promise.race([probe, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await this.writes.idle();
    await this.reader?.close();
    if (this.source.isInitialized) await this.source.destroy();
  }
}
