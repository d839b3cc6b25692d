import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DataSource } from 'typeorm';
import { entities } from './entities';
import { migrations } from './migrations';
import { WriteQueue } from './write-queue';

export class StoreOpenError extends Error {
  constructor(path: string, cause: unknown) {
    super(`cannot open the database ${path}: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'StoreOpenError';
  }
}

/** The open database: the DataSource for reads and the queue every write goes through. */
export class StoreDatabase {
  readonly writes: WriteQueue;
  constructor(readonly dataSource: DataSource) {
    this.writes = new WriteQueue(() => dataSource.createQueryRunner());
  }

  static async open(path: string): Promise<StoreDatabase> {
    const file = path === ':memory:' ? path : resolve(path);
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    const dataSource = new DataSource({
      type: 'sqlite',
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
      await dataSource.runMigrations({ transaction: 'each' });
    } catch (e) {
      if (dataSource.isInitialized) await dataSource.destroy().catch(() => undefined);
      throw new StoreOpenError(file, e);
    }
    return new StoreDatabase(dataSource);
  }

  async close(): Promise<void> {
    await this.writes.idle();
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}
