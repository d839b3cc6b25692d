import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoDir } from '@keyd/config';

/** Proto field names and enums as names, as the daemon itself loads them. */
const LOADER_OPTIONS = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true };

type Callback = (err: grpc.ServiceError | null, res: unknown) => void;
type Unary = (req: unknown, meta: grpc.Metadata, opts: grpc.CallOptions, cb: Callback) => void;
type Duplex = (meta: grpc.Metadata, opts: grpc.CallOptions) => grpc.ClientDuplexStream<unknown, unknown>;

let definition: grpc.GrpcObject | undefined;

/** KeyManager for keys, NodeManager for the fleet's nodes: both served on the daemon's gRPC listener. */
export type KeydService = 'KeyManager' | 'NodeManager';

function service(name: KeydService): grpc.ServiceClientConstructor {
  definition ??= grpc.loadPackageDefinition(
    protoLoader.loadSync(
      [join(protoDir(), 'keyd/v1/keyd.proto'), join(protoDir(), 'keyd/v1/fleet.proto')],
      LOADER_OPTIONS,
    ),
  );
  return (definition as unknown as { keyd: { v1: Record<KeydService, grpc.ServiceClientConstructor> } }).keyd.v1[name];
}

export interface ClientOptions {
  addr: string;
  token?: string;
  timeoutMs: number;
}

/** keyd's gRPC API as the CLI uses it: one promise per call, the token as `authorization` metadata. */
export class KeydClient {
  private readonly clients = new Map<KeydService, grpc.Client>();

  constructor(private readonly opts: ClientOptions) {}

  close(): void {
    for (const c of this.clients.values()) c.close();
  }

  private client(name: KeydService): grpc.Client {
    let c = this.clients.get(name);
    if (!c) {
      const Ctor = service(name);
      c = new Ctor(this.opts.addr, grpc.credentials.createInsecure());
      this.clients.set(name, c);
    }
    return c;
  }

  private metadata(): grpc.Metadata {
    const meta = new grpc.Metadata();
    if (this.opts.token) meta.set('authorization', `Bearer ${this.opts.token}`);
    return meta;
  }

  call<T>(method: string, req: unknown, on: KeydService = 'KeyManager'): Promise<T> {
    const client = this.client(on);
    const fn = (client as unknown as Record<string, Unary>)[method].bind(client);
    return new Promise<T>((resolve, reject) =>
      fn(req, this.metadata(), { deadline: Date.now() + this.opts.timeoutMs }, (err, res) =>
        err ? reject(err) : resolve(res as T),
      ),
    );
  }

  /** A bidirectional stream; no deadline, since an import of many rows takes as long as it takes. */
  stream(method: string): grpc.ClientDuplexStream<unknown, unknown> {
    const client = this.client('KeyManager');
    const fn = (client as unknown as Record<string, Duplex>)[method].bind(client);
    return fn(this.metadata(), {});
  }
}

export type ServiceError = grpc.ServiceError;
export const GrpcStatus = grpc.status;

export function isServiceError(e: unknown): e is grpc.ServiceError {
  return e instanceof Error && typeof (e as Partial<grpc.ServiceError>).code === 'number' && 'details' in e;
}
