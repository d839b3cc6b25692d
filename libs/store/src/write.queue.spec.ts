import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EntityManager } from 'typeorm';
import { internalsOf, StoreDatabase } from './store.database';
import { WriteQueue } from './write.queue';

describe('WriteQueue', () => {
  let dir: string;
  let db: StoreDatabase;
  let queue: WriteQueue;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keyd-writes-'));
    db = await StoreDatabase.open(join(dir, 'keyd.sqlite'));
    queue = internalsOf(db).writes;
    await queue.run(async (m) => {
      await m.query('CREATE TABLE t_parent (id INTEGER PRIMARY KEY)');
      await m.query('CREATE TABLE t_log (id INTEGER PRIMARY KEY AUTOINCREMENT, label TEXT NOT NULL UNIQUE)');
      // Deferred: a dangling reference passes its own statement and fails only at COMMIT.
      await m.query(
        'CREATE TABLE t_child (id INTEGER PRIMARY KEY, parent INTEGER NOT NULL REFERENCES t_parent(id) DEFERRABLE INITIALLY DEFERRED)',
      );
    });
  });

  afterEach(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const insert = (label: string) => async (m: EntityManager) => {
    await m.query('INSERT INTO t_log (label) VALUES (?)', [label]);
    const [row] = (await m.query('SELECT id FROM t_log WHERE label = ?', [label])) as { id: number }[];
    return row.id;
  };

  const labels = async () =>
    ((await queue.run((m) => m.query('SELECT label FROM t_log ORDER BY id'))) as { label: string }[]).map(
      (r) => r.label,
    );

  /** Holds the queue on one job so that the jobs submitted meanwhile share the next batch. */
  const hold = () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const held = queue.run(() => gate);
    return { release, held };
  };

  it('refuses only the failing job of a batch and commits the others', async () => {
    const { release, held } = hold();
    const a = queue.run(insert('a'));
    const bad = queue.run(async (m) => {
      await m.query('INSERT INTO t_log (label) VALUES (?)', ['bad']);
      throw new Error('job refused');
    });
    const dup = queue.run(insert('a')); // violates UNIQUE: SQLite's own failure
    const c = queue.run(insert('c'));
    release();
    await held;

    const results = await Promise.allSettled([a, bad, dup, c]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toEqual(new Error('job refused'));
    expect(String((results[2] as PromiseRejectedResult).reason)).toMatch(/UNIQUE/);
    expect(await labels()).toEqual(['a', 'c']);
  });

  it('answers each caller with its own result when the batch is re-run, and applies each good job once', async () => {
    const runs = { a: 0, c: 0 };
    const { release, held } = hold();
    const a = queue.run(async (m) => {
      runs.a++;
      return insert('a')(m);
    });
    const bad = queue.run(() => Promise.reject(new Error('no')));
    const c = queue.run(async (m) => {
      runs.c++;
      return insert('c')(m);
    });
    release();
    await held;

    const [ida, idc] = await Promise.all([a, c]);
    await expect(bad).rejects.toThrow('no');
    // The first, unisolated pass stopped at the failure and rolled back; a ran again in a savepoint.
    expect(runs).toEqual({ a: 2, c: 1 });
    expect(await labels()).toEqual(['a', 'c']);
    const rows = (await queue.run((m) => m.query('SELECT id, label FROM t_log ORDER BY id'))) as {
      id: number;
      label: string;
    }[];
    expect({ a: ida, c: idc }).toEqual({ a: rows[0].id, c: rows[1].id });
  });

  it('rejects every caller of a batch whose commit fails, and keeps working afterwards', async () => {
    const { release, held } = hold();
    const a = queue.run(insert('a'));
    const dangling = queue.run((m) => m.query('INSERT INTO t_child (id, parent) VALUES (1, 999)'));
    const c = queue.run(insert('c'));
    release();
    await held;

    const results = await Promise.allSettled([a, dangling, c]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    for (const r of results) expect(String((r as PromiseRejectedResult).reason)).toMatch(/FOREIGN KEY/);
    expect(await labels()).toEqual([]);

    await expect(queue.run(insert('after'))).resolves.toEqual(expect.any(Number));
    expect(await labels()).toEqual(['after']);
  });

  it('rejects a lone job whose commit fails', async () => {
    await expect(queue.run((m) => m.query('INSERT INTO t_child (id, parent) VALUES (1, 999)'))).rejects.toThrow(
      /FOREIGN KEY/,
    );
    const children = (await queue.run((m) => m.query('SELECT id FROM t_child'))) as unknown[];
    expect(children).toEqual([]);
  });

  it('applies jobs in submission order, within a batch and across batches', async () => {
    const ran: string[] = [];
    const job = (label: string) => async (m: EntityManager) => {
      ran.push(label);
      return insert(label)(m);
    };
    const { release, held } = hold();
    const first = Array.from({ length: 20 }, (_, i) => queue.run(job(`x${i}`)));
    release();
    await held;
    const second = Array.from({ length: 300 }, (_, i) => queue.run(job(`y${i}`))); // more than one batch holds
    const ids = await Promise.all([...first, ...second]);

    const expected = [
      ...Array.from({ length: 20 }, (_, i) => `x${i}`),
      ...Array.from({ length: 300 }, (_, i) => `y${i}`),
    ];
    expect(ran).toEqual(expected);
    expect(await labels()).toEqual(expected);
    expect([...ids].sort((p, q) => p - q)).toEqual(ids);
  });
});
