import { join } from 'node:path';
import { protoDir } from '@keyd/config';

export const GRPC_PACKAGES = ['keyd.v1', 'grpc.health.v1'];

export function grpcProtoFiles(): string[] {
  return [
    join(protoDir(), 'keyd/v1/keyd.proto'),
    join(protoDir(), 'keyd/v1/fleet.proto'),
    join(protoDir(), 'grpc/health/v1/health.proto'),
  ];
}

/** Loader options shared by the server and by clients in tests: proto field names, enums as names. */
export const GRPC_LOADER_OPTIONS = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};
