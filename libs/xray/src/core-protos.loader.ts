import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as protobuf from 'protobufjs';
import { join } from 'node:path';
import { protoDir } from '@keyd/config';
import { CoreFlavor, PROTO_PREFIX } from './core.flavor';

const FILES = [
  'common/serial/typed_message.proto',
  'common/protocol/user.proto',
  'proxy/vless/account.proto',
  'app/proxyman/command/command.proto',
  'app/stats/command/command.proto',
];

export interface CoreProtos {
  handlerClient: grpc.ServiceClientConstructor;
  statsClient: grpc.ServiceClientConstructor;
  /** Encodes a message for a TypedMessage, tagged with the flavor's type string. */
  pack(relativeType: string, value: Record<string, unknown>): { type: string; value: Buffer };
  /** Decodes a TypedMessage value of a known type. */
  unpack(relativeType: string, value: Uint8Array): Record<string, unknown>;
}

let shared: { definition: protoLoader.PackageDefinition; root: protobuf.Root } | undefined;

/**
 * The vendored core protos, parsed once per process: the service definitions
 * for grpc-js and the message types for TypedMessage payloads. The fake core
 * in testing/ serves from the same parse; wire encoding does not depend on it.
 */
export function loadCoreProtos(): { definition: protoLoader.PackageDefinition; root: protobuf.Root } {
  if (shared) return shared;
  const coreDir = join(protoDir(), 'core');
  const definition = protoLoader.loadSync(FILES, {
    includeDirs: [coreDir],
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
  });
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => join(coreDir, target);
  root.loadSync(FILES, { keepCase: true });
  shared = { definition, root };
  return shared;
}

/** The service definition with its method paths renamed to the flavor's package. */
function serviceFor(flavor: CoreFlavor, relativeService: string): grpc.ServiceClientConstructor {
  const { definition } = loadCoreProtos();
  const original = definition[PROTO_PREFIX + relativeService] as protoLoader.ServiceDefinition;
  const serviceName = flavor.qualify(relativeService);
  const renamed = Object.fromEntries(
    Object.entries(original).map(([method, def]) => [method, { ...def, path: `/${serviceName}/${method}` }]),
  ) as grpc.ServiceDefinition;
  return grpc.makeGenericClientConstructor(renamed, serviceName);
}

export function coreProtos(flavor: CoreFlavor): CoreProtos {
  const { root } = loadCoreProtos();
  // A lookup walks the namespace tree; every add and every listing asks for the same few types.
  const types = new Map<string, protobuf.Type>();
  const typeOf = (relativeType: string) => {
    let type = types.get(relativeType);
    if (!type) types.set(relativeType, (type = root.lookupType(PROTO_PREFIX + relativeType)));
    return type;
  };
  return {
    handlerClient: serviceFor(flavor, 'app.proxyman.command.HandlerService'),
    statsClient: serviceFor(flavor, 'app.stats.command.StatsService'),
    pack(relativeType, value) {
      const type = typeOf(relativeType);
      return { type: flavor.qualify(relativeType), value: Buffer.from(type.encode(type.fromObject(value)).finish()) };
    },
    unpack(relativeType, value) {
      const type = typeOf(relativeType);
      return type.toObject(type.decode(value), { defaults: true, longs: Number }) as Record<string, unknown>;
    },
  };
}
