import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoDir } from '@keyd/config';
import { tolerateMalformedRequests } from '@keyd/observability';
import type {
  AgentMessage,
  AgentReport,
  ControlMessage,
  DesiredKey,
  EnrollRequest,
  EnrollResponse,
  KeyChanges,
  UsageAck,
  UsageReport,
} from './generated/keyd/v1/fleet.pb';

/** DesiredKey on the wire (proto field names), as `npm run proto:gen` makes it of fleet.proto. */
export type WireDesiredKey = DesiredKey;
export type WireKeyChanges = KeyChanges;
export type WireReport = AgentReport;
export type WireEnrollRequest = EnrollRequest;
export type WireEnrollResponse = EnrollResponse;
export type WireUsageReport = UsageReport;
export type WireUsageAck = UsageAck;

/**
 * AgentMessage and ControlMessage as proto-loader hands them over: with
 * `oneofs: true` it also sets `body` to the name of the oneof field that is set.
 */
export type WireAgentMessage = AgentMessage & { body?: keyof AgentMessage };
export type WireControlMessage = ControlMessage & { body?: keyof ControlMessage };

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
  // The agent link is a listener too: bytes no encoder writes are refused as INVALID_ARGUMENT, not decoded.
  tolerateMalformedRequests(definition as unknown as Record<string, unknown>);
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    keyd: { v1: { NodeSync: grpc.ServiceClientConstructor } };
  };
  loaded = pkg.keyd.v1.NodeSync;
  return loaded;
}
