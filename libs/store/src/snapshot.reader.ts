import * as sqlite3 from 'sqlite3';

export type ReadQuery = (sql: string, params: unknown[]) => Promise<unknown[]>;

/**
 * A second, read-only connection to the database, for long reads that must be
 * consistent but must not hold up the write queue. In WAL mode a read
 * transaction sees the database as of its first statement, whatever commits on
 * the write connection meanwhile, and writers never wait for it.
 */
export class SnapshotReader {
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(private readonly db: sqlite3.Database) {}

  static async open(file: string): Promise<SnapshotReader> {
    const db = await new Promise<sqlite3.Database>((resolve, reject) => {
      const d: sqlite3.Database = new sqlite3.Database(file, sqlite3.OPEN_READONLY, (e) =>
        e ? reject(e) : resolve(d),
      );
    });
    db.configure('busyTimeout', 5000);
    return new SnapshotReader(db);
  }

  /** Runs fn inside one read transaction; reads queue up behind each other, never behind writes. */
  read<T>(fn: (query: ReadQuery) => Promise<T>): Promise<T> {
    const result = this.tail.then(() => this.transaction(fn));
    this.tail = result.catch(() => undefined);
    return result;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail;
    await new Promise<void>((resolve, reject) => this.db.close((e) => (e ? reject(e) : resolve())));
  }

  private async transaction<T>(fn: (query: ReadQuery) => Promise<T>): Promise<T> {
    await this.query('BEGIN', []);
    try {
      return await fn((sql, params) => this.query(sql, params));
    } finally {
      await this.query('COMMIT', []);
    }
  }

  private query(sql: string, params: unknown[]): Promise<unknown[]> {
    return new Promise((resolve, reject) =>
      this.db.all(sql, params, (e: Error | null, rows: unknown[]) => (e ? reject(e) : resolve(rows))),
    );
  }
}
