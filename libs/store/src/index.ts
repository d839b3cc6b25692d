export * from './store.module';
export { StoreDatabase, StoreOpenError } from './store.database';
export { KeyRepository } from './repositories/key.repository';
export { NodeRepository, NodeRecord } from './repositories/node.repository';
export * from './repositories/store.types';
export { CoreStateRepository, ConfigFileState } from './repositories/core-state.repository';
