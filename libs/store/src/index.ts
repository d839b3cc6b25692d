export * from './store.module';
export { StoreDatabase, StoreOpenError } from './store.database';
export { KeyRepository } from './repositories/key.repository';
export { NodeRepository } from './repositories/node.repository';
export type { NodeRecord } from './repositories/node.repository';
export * from './repositories/store.types';
export { CoreStateRepository } from './repositories/core-state.repository';
export type { ConfigFileState } from './repositories/core-state.repository';
