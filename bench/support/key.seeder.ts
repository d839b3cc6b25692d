import { randomUUID } from 'crypto';
import { promises as fs } from 'fs';
import * as path from 'path';
import { emailFor } from '@keyd/keys';
import { CoreStateRepository, NodeRepository, StoreDatabase } from '@keyd/store';

/** What the core needs to hold a seeded key, and what a probe needs to check it. */
export interface SeededKey {
  id: number;
  ownerId: string;
  uuid: string;
  email: string;
  changeSeq: number;
}

export interface SeededDb {
  size: number;
  /** A closed database file; copy it before opening, so every scenario starts from the same bytes. */
  dbPath: string;
  keys: SeededKey[];
  maxSeq: number;
  seedSeconds: number;
}

/** 500 rows x 13 columns stays far below SQLite's limit of bound parameters per statement. */
const INSERT_ROWS = 500;
const INSERTS_PER_TRANSACTION = 20;
/** Far enough out that no seeded key expires while a bench runs. */
const SUBSCRIPTION_MS = 365 * 86_400_000;
/** keyd seeds the node row named by KEYD_NODE_NAME, default "default"; the seeded keys must belong to it. */
export const SEED_NODE_NAME = 'default';
export const SEED_INBOUND_TAG = 'vless-in';

const COLUMNS = [
  'owner_id',
  'uuid',
  'email',
  'node_id',
  'inbound_tag',
  'flow',
  'status',
  'subscription_end',
  'change_seq',
  'rev',
  'applied_seq',
  'created_at',
  'updated_at',
];

/**
 * Builds databases of 1k, 10k, 100k active keys. The schema comes from
 * libs/store's own migrations (StoreDatabase.open runs them), but the rows are
 * inserted with multi-row INSERTs instead of one TypeORM save per key: that
 * path took about 95 s for 100k keys, most of the time budget. Every row is
 * written as keyd leaves a provisioned key: ACTIVE, with applied_seq equal to
 * its change_seq. The sizes are built incrementally in one file and a copy is
 * taken at each size, so 100k keys cost 100k inserts, not 111k.
 */
export class KeySeeder {
  private readonly cache = new Map<number, SeededDb>();

  constructor(private readonly dir: string) {}

  async sizes(sizes: number[]): Promise<Map<number, SeededDb>> {
    const wanted = [...new Set(sizes)].sort((a, b) => a - b).filter((s) => !this.cache.has(s));
    if (wanted.length) await this.build(wanted);
    return new Map(sizes.map((s) => [s, this.cache.get(s) as SeededDb]));
  }

  async size(size: number): Promise<SeededDb> {
    return (await this.sizes([size])).get(size) as SeededDb;
  }

  private async build(sizes: number[]): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    const work = path.join(this.dir, `seed-work-${process.pid}.sqlite`);
    await removeDb(work);
    const keys: SeededKey[] = [];
    let seconds = 0;
    for (const size of sizes) {
      const started = process.hrtime.bigint();
      const db = await StoreDatabase.open(work);
      try {
        const nodeId = (
          await new NodeRepository(db).seed(
            { name: SEED_NODE_NAME, apiAddr: '127.0.0.1:1', flavor: 'v2ray' },
            new Date(),
          )
        ).id;
        keys.push(...(await insertKeys(db, nodeId, keys.length, size - keys.length)));
        const maxSeq = keys.length ? (keys[keys.length - 1] as SeededKey).changeSeq : 0;
        // Recorded as if keyd had written the config file at this sequence, so that a
        // core booted from the file rendered below takes recovery's intact/replayed path.
        await new CoreStateRepository(db).recordConfigWrite(maxSeq, new Date());
        // Folds the WAL into the main file, so that a plain copy of it is the whole database.
        await db.transaction((query) => query('PRAGMA wal_checkpoint(TRUNCATE)'));
      } finally {
        await db.close();
      }
      seconds += Number(process.hrtime.bigint() - started) / 1e9;
      const dbPath = path.join(this.dir, `seed-${size}.sqlite`);
      await fs.copyFile(work, dbPath);
      const maxSeq = keys.length ? (keys[keys.length - 1] as SeededKey).changeSeq : 0;
      this.cache.set(size, { size, dbPath, keys: keys.slice(), maxSeq, seedSeconds: seconds });
    }
    await removeDb(work);
  }
}

async function removeDb(file: string): Promise<void> {
  for (const suffix of ['', '-wal', '-shm']) await fs.rm(file + suffix, { force: true });
}

async function insertKeys(db: StoreDatabase, nodeId: number, from: number, count: number): Promise<SeededKey[]> {
  const out: SeededKey[] = [];
  const [{ seq: lastSeq }] = (await db.consistentRead((query) =>
    query('SELECT COALESCE(MAX(change_seq), 0) AS seq FROM keys', []),
  )) as {
    seq: number;
  }[];
  let seq = Number(lastSeq);
  const end = Date.now() + SUBSCRIPTION_MS;
  const placeholders = `(${COLUMNS.map(() => '?').join(', ')})`;
  for (let done = 0; done < count;) {
    const chunk = Math.min(INSERT_ROWS * INSERTS_PER_TRANSACTION, count - done);
    const rows: SeededKey[] = [];
    for (let i = 0; i < chunk; i++) {
      const ownerId = `seed-${String(from + done + i).padStart(7, '0')}`;
      const uuid = randomUUID();
      rows.push({ id: 0, ownerId, uuid, email: emailFor(ownerId), changeSeq: ++seq });
    }
    await db.transaction(async (query) => {
      const now = Date.now();
      for (let at = 0; at < rows.length; at += INSERT_ROWS) {
        const part = rows.slice(at, at + INSERT_ROWS);
        const params = part.flatMap((r) => [
          r.ownerId,
          r.uuid,
          r.email,
          nodeId,
          SEED_INBOUND_TAG,
          '',
          'ACTIVE',
          end,
          r.changeSeq,
          r.changeSeq,
          r.changeSeq,
          now,
          now,
        ]);
        await query(
          `INSERT INTO keys (${COLUMNS.join(', ')}) VALUES ${part.map(() => placeholders).join(', ')}`,
          params,
        );
      }
    });
    const ids = (await db.consistentRead((query) =>
      query('SELECT id, change_seq FROM keys WHERE change_seq BETWEEN ? AND ?', [rows[0]?.changeSeq ?? 0, seq]),
    )) as { id: number; change_seq: number }[];
    const idBySeq = new Map(ids.map((r) => [Number(r.change_seq), Number(r.id)]));
    for (const r of rows) r.id = idBySeq.get(r.changeSeq) ?? 0;
    out.push(...rows);
    done += chunk;
  }
  return out;
}

/**
 * The managed inbound's clients in exactly the shape and formatting
 * ConfigFileWriter renders, so keyd finds the file already current and the
 * core boots with the same bytes keyd would have written.
 */
export function renderConfigWithClients(baseJson: string, keys: SeededKey[], tag = SEED_INBOUND_TAG): string {
  const parsed = JSON.parse(baseJson) as { inbounds?: { tag?: string; settings?: { clients?: unknown[] } }[] };
  const inbound = parsed.inbounds?.find((i) => i.tag === tag);
  if (!inbound) throw new Error(`no inbound tagged "${tag}" in the base config`);
  inbound.settings ??= {};
  inbound.settings.clients = keys.map((k) => ({ id: k.uuid, email: k.email, flow: '', level: 0 }));
  return `${JSON.stringify(parsed, null, 2)}\n`;
}
