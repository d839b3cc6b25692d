import { NodeEntity } from '../entities';
import { internalsOf, StoreDatabase } from '../store.database';

export interface NodeRecord {
  id: number;
  name: string;
  apiAddr: string;
  flavor: string;
}

export class NodeRepository {
  constructor(private readonly db: StoreDatabase) {}

  /** Creates or updates the node described by configuration and returns it. */
  async seed(node: Omit<NodeRecord, 'id'>, now: Date): Promise<NodeRecord> {
    return internalsOf(this.db).writes.run(async (m) => {
      const repo = m.getRepository(NodeEntity);
      const existing = await repo.findOneBy({ name: node.name });
      const saved = await repo.save(
        existing ? { ...existing, ...node, updatedAt: now } : repo.create({ ...node, createdAt: now, updatedAt: now }),
      );
      return { id: saved.id, name: saved.name, apiAddr: saved.apiAddr, flavor: saved.flavor };
    });
  }
}
