import { createHash } from 'node:crypto';
import { Key } from '@keyd/domain';
import { internalsOf, StoreDatabase } from '../store.database';
import { KeyRepository } from './key.repository';
import { KeyRow, LATEST_REVISION, rowToKey } from './key.rows';

/** What a share link to a node needs beyond its host and port. */
export interface NodeLink {
  security?: string;
  type?: string;
  flow?: string;
  sni?: string;
  pbk?: string;
  sid?: string;
  fp?: string;
}

/** A node of the fleet: the control plane's own core (`local`) or one enforced by an agent. */
export interface FleetNodeRecord {
  id: number;
  name: string;
  kind: 'local' | 'agent';
  group: string;
  publicHost: string;
  publicPort: number;
  link: NodeLink;
  enabled: boolean;
  /** Deleting: every key is being removed from it before the row goes. */
  draining: boolean;
  /** The revision the agent confirmed its core reflects. */
  ackedRev: number;
  /** A watch from below this revision gets a snapshot. */
  resyncRev: number;
  lastSeenAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewFleetNode {
  name: string;
  group: string;
  publicHost: string;
  publicPort: number;
  link: NodeLink;
  enabled: boolean;
}

export type FleetNodePatch = Partial<Omit<NewFleetNode, 'name'>>;

interface NodeRow {
  id: number;
  name: string;
  kind: string;
  node_group: string;
  public_host: string;
  public_port: number;
  link: string;
  enabled: number;
  draining: number;
  acked_rev: number;
  resync_rev: number;
  last_seen_at: number | null;
  created_at: number;
  updated_at: number;
}

const toNode = (r: NodeRow): FleetNodeRecord => ({
  id: r.id,
  name: r.name,
  kind: r.kind === 'agent' ? 'agent' : 'local',
  group: r.node_group,
  publicHost: r.public_host,
  publicPort: r.public_port,
  link: JSON.parse(r.link) as NodeLink,
  enabled: r.enabled === 1,
  draining: r.draining === 1,
  ackedRev: r.acked_rev,
  resyncRev: r.resync_rev,
  lastSeenAt: r.last_seen_at == null ? null : new Date(Number(r.last_seen_at)),
  createdAt: new Date(Number(r.created_at)),
  updatedAt: new Date(Number(r.updated_at)),
});

/** Only a digest of a join token is stored, so the database never holds a usable token. */
export const tokenDigest = (token: string): string => createHash('sha256').update(token).digest('hex');

/** The fleet's nodes and the per-group reads the agent link serves from the keys table. */
export class FleetRepository {
  constructor(
    private readonly db: StoreDatabase,
    private readonly keys: KeyRepository,
  ) {}

  private async rows(sql: string, params: unknown[] = []): Promise<NodeRow[]> {
    return (await internalsOf(this.db).source.query(sql, params)) as NodeRow[];
  }

  async list(): Promise<FleetNodeRecord[]> {
    return (await this.rows('SELECT * FROM nodes ORDER BY id')).map(toNode);
  }

  async byName(name: string): Promise<FleetNodeRecord | null> {
    const [row] = await this.rows('SELECT * FROM nodes WHERE name = ?', [name]);
    return row ? toNode(row) : null;
  }

  async byId(id: number): Promise<FleetNodeRecord | null> {
    const [row] = await this.rows('SELECT * FROM nodes WHERE id = ?', [id]);
    return row ? toNode(row) : null;
  }

  /** The agent node a join token (its secret) belongs to; the digest is compared by SQLite's index, never the secret itself. */
  async byJoinToken(secret: string): Promise<FleetNodeRecord | null> {
    const [row] = await this.rows(`SELECT * FROM nodes WHERE token_hash = ? AND kind = 'agent'`, [tokenDigest(secret)]);
    return row ? toNode(row) : null;
  }

  /**
   * Binds a node to the first key that enrolls with its token, in one
   * statement, so only one caller ever wins it; the same key may enroll again
   * (an agent that lost the answer retries). Null for any other key.
   */
  async bindKey(nodeId: number, keySha256: string, now: Date): Promise<boolean> {
    return internalsOf(this.db).writes.run(async (m) => {
      // Lower case on purpose: TypeORM runs statements starting with "UPDATE " without returning rows.
      const rows = (await m.query(
        `update nodes SET key_sha256 = ?1, updated_at = ?2
         WHERE id = ?3 AND kind = 'agent' AND (key_sha256 IS NULL OR key_sha256 = ?1) RETURNING id`,
        [keySha256, now.getTime(), nodeId],
      )) as { id: number }[];
      return rows.length === 1;
    });
  }

  /** The node an enrolled agent's key belongs to. */
  async byKey(keySha256: string): Promise<FleetNodeRecord | null> {
    const [row] = await this.rows(`SELECT * FROM nodes WHERE key_sha256 = ? AND kind = 'agent'`, [keySha256]);
    return row ? toNode(row) : null;
  }

  /** Inserts an agent node; null when the name is taken. */
  async create(node: NewFleetNode, token: string, now: Date): Promise<FleetNodeRecord | null> {
    return internalsOf(this.db).writes.run(async (m) => {
      const taken = (await m.query('SELECT 1 FROM nodes WHERE name = ?', [node.name])) as unknown[];
      if (taken.length) return null;
      const rows = (await m.query(
        `insert INTO nodes (name, api_addr, flavor, kind, node_group, public_host, public_port, link, enabled,
           token_hash, created_at, updated_at)
         VALUES (?, '', 'xray', 'agent', ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
        [
          node.name,
          node.group,
          node.publicHost,
          node.publicPort,
          JSON.stringify(node.link),
          node.enabled ? 1 : 0,
          tokenDigest(token),
          now.getTime(),
          now.getTime(),
        ],
      )) as NodeRow[];
      return toNode(rows[0]);
    });
  }

  /**
   * Changes a node. A new group or a re-enabled node must be followed from a
   * snapshot: its set of keys changed without their revisions moving. Its
   * resync revision is a new one, above every key's, so that an agent already
   * at the latest key revision is still below it; the snapshot carries it.
   * Null when the node is gone (a forced delete can come first).
   */
  async update(id: number, patch: FleetNodePatch, now: Date): Promise<FleetNodeRecord | null> {
    return this.keys.writeWith(async (tx, query) => {
      const m = { query };
      const [before] = (await m.query('SELECT * FROM nodes WHERE id = ?', [id])) as NodeRow[];
      if (!before) return null;
      const sets = ['updated_at = ?'];
      const params: unknown[] = [now.getTime()];
      const set = (column: string, value: unknown) => {
        sets.push(`${column} = ?`);
        params.push(value);
      };
      if (patch.group !== undefined) set('node_group', patch.group);
      if (patch.publicHost !== undefined) set('public_host', patch.publicHost);
      if (patch.publicPort !== undefined) set('public_port', patch.publicPort);
      if (patch.link !== undefined) set('link', JSON.stringify(patch.link));
      if (patch.enabled !== undefined) set('enabled', patch.enabled ? 1 : 0);
      const regroup =
        (patch.group !== undefined && patch.group !== before.node_group) ||
        (patch.enabled !== undefined && (patch.enabled ? 1 : 0) !== before.enabled);
      if (regroup) set('resync_rev', await tx.claimRevision());
      const rows = (await m.query(`update nodes SET ${sets.join(', ')} WHERE id = ? RETURNING *`, [
        ...params,
        id,
      ])) as NodeRow[];
      return toNode(rows[0]);
    });
  }

  async setDraining(id: number, now: Date): Promise<void> {
    await internalsOf(this.db).writes.run(async (m) => {
      await m.query('UPDATE nodes SET draining = 1, updated_at = ? WHERE id = ?', [now.getTime(), id]);
    });
  }

  async remove(id: number): Promise<void> {
    await internalsOf(this.db).writes.run(async (m) => {
      await m.query(`DELETE FROM nodes WHERE id = ? AND kind = 'agent'`, [id]);
    });
  }

  /** Records an agent's acknowledgement; a lower revision than the stored one never lowers it. */
  async recordAck(id: number, rev: number, now: Date): Promise<void> {
    await internalsOf(this.db).writes.run(async (m) => {
      await m.query('UPDATE nodes SET acked_rev = MAX(acked_rev, ?), last_seen_at = ? WHERE id = ?', [
        rev,
        now.getTime(),
        id,
      ]);
    });
  }

  private async maxRevIn(m: { query: (sql: string) => Promise<unknown> }): Promise<number> {
    const rows = (await m.query(`SELECT ${LATEST_REVISION} AS rev`)) as { rev: number }[];
    return Number(rows[0].rev);
  }

  async maxRev(): Promise<number> {
    return this.maxRevIn(internalsOf(this.db).source);
  }

  /** Changes to a group's keys after a revision, in revision order: what an agent at that revision lacks. */
  async changesSince(group: string, afterRev: number, limit: number): Promise<Key[]> {
    const rows = (await internalsOf(this.db).source.query(
      'SELECT * FROM keys WHERE node_group = ? AND rev > ? ORDER BY rev LIMIT ?',
      [group, afterRev, limit],
    )) as KeyRow[];
    return rows.map(rowToKey);
  }

  async countChangesSince(group: string, afterRev: number): Promise<number> {
    const rows = (await internalsOf(this.db).source.query(
      'SELECT COUNT(*) AS n FROM keys WHERE node_group = ? AND rev > ?',
      [group, afterRev],
    )) as { n: number }[];
    return Number(rows[0].n);
  }

  async countActive(group: string): Promise<number> {
    const rows = (await internalsOf(this.db).source.query(
      `SELECT COUNT(*) AS n FROM keys WHERE node_group = ? AND status = 'ACTIVE'`,
      [group],
    )) as { n: number }[];
    return Number(rows[0].n);
  }

  /** A group's active keys and the revision they are current as of, read in the write queue so none lands between. */
  async snapshot(group: string): Promise<{ rev: number; keys: Key[] }> {
    return internalsOf(this.db).writes.run(async (m) => {
      const rows = (await m.query(`SELECT * FROM keys WHERE node_group = ? AND status = 'ACTIVE' ORDER BY id`, [
        group,
      ])) as KeyRow[];
      return { rev: await this.maxRevIn(m), keys: rows.map(rowToKey) };
    });
  }
}
