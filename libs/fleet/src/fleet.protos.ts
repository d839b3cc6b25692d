import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoDir } from '@keyd/config';

/** DesiredKey on the wire (proto field names). */
export interface WireDesiredKey {
  uuid: string;
  email: string;
  owner_id: string;
  flow: string;
  status: string;
  subscription_end_ms: number;
}

export interface WireKeyChanges {
  keys: WireDesiredKey[];
  revision: number;
  snapshot: boolean;
  snapshot_done: boolean;
}

export interface WireReport {
  pending_keys: number;
  core_reachable: boolean;
  core_uptime_seconds: number;
  core_restarts: number;
}

/** AgentMessage: `body` names the field of the oneof that is set. */
export interface WireAgentMessage {
  body?: 'hello' | 'ack' | 'report' | 'drained';
  hello?: { since_revision: number };
  ack?: { revision: number };
  report?: WireReport;
  drained?: Record<string, never>;
}

export interface WireControlMessage {
  body?: 'changes' | 'drain';
  changes?: WireKeyChanges;
  drain?: Record<string, never>;
}

let loaded: grpc.ServiceClientConstructor | undefined;

/** The NodeSync service of proto/keyd/v1/fleet.proto, for the agent link's server and its client. */
export function nodeSyncService(): grpc.ServiceClientConstructor {
  if (loaded) return loaded;
  const definition = protoLoader.loadSync(join(protoDir(), 'keyd/v1/fleet.proto'), {
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    keyd: { v1: { NodeSync: grpc.ServiceClientConstructor } };
  };
  loaded = pkg.keyd.v1.NodeSync;
  return loaded;
}
