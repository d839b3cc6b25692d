import { Module, OnApplicationShutdown } from '@nestjs/common';
import { KEYD_CONFIG, KeydConfig } from '@keyd/config';
import { CoreStateRepository } from './repositories/core-state.repository';
import { FleetRepository } from './repositories/fleet.repository';
import { KeyRepository } from './repositories/key.repository';
import { NodeRecord, NodeRepository } from './repositories/node.repository';
import { ReplicaRepository } from './repositories/replica.repository';
import { UsageRepository } from './repositories/usage.repository';
import { StoreDatabase, StoreHealth } from './store.database';

export const CURRENT_NODE = Symbol('CURRENT_NODE');

class StoreCloser implements OnApplicationShutdown {
  constructor(private readonly db: StoreDatabase) {}
  async onApplicationShutdown(): Promise<void> {
    await this.db.close();
  }
}

@Module({
  providers: [
    {
      provide: StoreDatabase,
      inject: [KEYD_CONFIG],
      useFactory: (config: KeydConfig) => StoreDatabase.open(config.db.path),
    },
    { provide: StoreHealth, useExisting: StoreDatabase },
    { provide: StoreCloser, inject: [StoreDatabase], useFactory: (db: StoreDatabase) => new StoreCloser(db) },
    { provide: KeyRepository, inject: [StoreDatabase], useFactory: (db: StoreDatabase) => new KeyRepository(db) },
    {
      provide: CoreStateRepository,
      inject: [StoreDatabase],
      useFactory: (db: StoreDatabase) => new CoreStateRepository(db),
    },
    {
      provide: UsageRepository,
      inject: [StoreDatabase, KeyRepository],
      useFactory: (db: StoreDatabase, keys: KeyRepository) => new UsageRepository(db, keys),
    },
    { provide: NodeRepository, inject: [StoreDatabase], useFactory: (db: StoreDatabase) => new NodeRepository(db) },
    {
      provide: FleetRepository,
      inject: [StoreDatabase, KeyRepository],
      useFactory: (db: StoreDatabase, keys: KeyRepository) => new FleetRepository(db, keys),
    },
    {
      provide: ReplicaRepository,
      inject: [KeyRepository],
      useFactory: (keys: KeyRepository) => new ReplicaRepository(keys),
    },
    {
      provide: CURRENT_NODE,
      inject: [NodeRepository, KEYD_CONFIG],
      useFactory: (nodes: NodeRepository, config: KeydConfig): Promise<NodeRecord> =>
        nodes.seed({ name: config.node.name, apiAddr: config.core.apiAddr, flavor: config.core.flavor }, new Date()),
    },
  ],
  exports: [
    StoreDatabase,
    StoreHealth,
    KeyRepository,
    UsageRepository,
    NodeRepository,
    CoreStateRepository,
    FleetRepository,
    ReplicaRepository,
    CURRENT_NODE,
  ],
})
export class StoreModule {}
