import { join } from 'node:path';
import { protoDir } from '@keyd/config';
import { MessageDefinition, WireFormatChecker } from './wire-format.check';

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

/** Marks a request whose bytes are not a valid message, so it can be refused as INVALID_ARGUMENT. */
export const MALFORMED = Symbol('malformed request');

interface MethodLike {
  requestDeserialize?: (bytes: Buffer) => unknown;
  requestType?: MessageDefinition;
}

/**
 * grpc-js answers a request it cannot decode with INTERNAL, which blames the
 * server for the caller's bytes. Decoding failures, and bytes no encoder
 * writes (which protobufjs would decode all the same), are turned into a
 * marked request instead, which the interceptor refuses as INVALID_ARGUMENT.
 */
export function tolerateMalformedRequests(definition: Record<string, unknown>): void {
  const wire = new WireFormatChecker(definition);
  for (const [name, service] of Object.entries(definition)) {
    if (!service || typeof service !== 'object' || 'format' in service) continue;
    for (const method of Object.values(service as Record<string, MethodLike>)) {
      const decode = method?.requestDeserialize;
      if (typeof decode !== 'function') continue;
      const check = method.requestType && wire.forMethod(name, method.requestType.type);
      method.requestDeserialize = (bytes: Buffer) => {
        try {
          check?.(bytes);
          return decode(bytes);
        } catch (e) {
          return { [MALFORMED]: e instanceof Error ? e.message : String(e) };
        }
      };
    }
  }
}
