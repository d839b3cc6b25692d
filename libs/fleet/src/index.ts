export * from './fleet.module';
export * from './node.service';
export * from './node.views';
export * from './key-nodes.service';
export * from './fleet-grants.service';
export type { NodeInput } from './node-input.validation';
export type {
  CreateNodeResponse as ProtoCreateNodeResponse,
  ListNodesResponse as ProtoListNodesResponse,
  Node as ProtoNode,
} from './generated/keyd/v1/fleet.pb';
