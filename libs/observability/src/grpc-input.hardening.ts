import { MessageDefinition, WireFormatChecker } from './wire-format.check';

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
 * marked request instead, which each gRPC listener refuses as
 * INVALID_ARGUMENT: the API's interceptor, and the agent link's handlers.
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
