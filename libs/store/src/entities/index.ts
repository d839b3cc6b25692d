import { CoreStateEntity } from './core-state.entity';
import { GrantRequestEntity } from './grant-request.entity';
import { KeyEntity } from './key.entity';
import { NodeEntity } from './node.entity';

export const entities = [NodeEntity, KeyEntity, GrantRequestEntity, CoreStateEntity];
export { CoreStateEntity, GrantRequestEntity, KeyEntity, NodeEntity };
