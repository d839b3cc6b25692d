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

function keyManager(): grpc.ServiceClientConstructor {
  definition ??= grpc.loadPackageDefinition(
    protoLoader.loadSync([join(protoDir(), 'keyd/v1/keyd.proto')], LOADER_OPTIONS),
  );
  return (definition as unknown as { keyd: { v1: { KeyManager: grpc.ServiceClientConstructor } } }).keyd.v1.KeyManager;
}

export interface ClientOptions {
  addr: string;
  token?: string;
  timeoutMs: number;
}

/** keyd's gRPC API as the CLI uses it: one promise per call, the token as `authorization` metadata. */
export class KeydClient {
  private readonly client: grpc.Client;

  constructor(private readonly opts: ClientOptions) {
    const Ctor = keyManager();
    this.client = new Ctor(opts.addr, grpc.credentials.createInsecure());
  }

  close(): void {
    this.client.close();
  }

  private metadata(): grpc.Metadata {
    const meta = new grpc.Metadata();
    if (this.opts.token) meta.set('authorization', `Bearer ${this.opts.token}`);
    return meta;
  }

  call<T>(method: string, req: unknown): Promise<T> {
    const fn = (this.client as unknown as Record<string, Unary>)[method].bind(this.client);
    return new Promise<T>((resolve, reject) =>
      fn(req, this.metadata(), { deadline: Date.now() + this.opts.timeoutMs }, (err, res) =>
        err ? reject(err) : resolve(res as T),
      ),
    );
  }

  /** A bidirectional stream; no deadline, since an import of many rows takes as long as it takes. */
  stream(method: string): grpc.ClientDuplexStream<unknown, unknown> {
    const fn = (this.client as unknown as Record<string, Duplex>)[method].bind(this.client);
    return fn(this.metadata(), {});
  }
}

export type ServiceError = grpc.ServiceError;
export const GrpcStatus = grpc.status;

export function isServiceError(e: unknown): e is grpc.ServiceError {
  return e instanceof Error && typeof (e as Partial<grpc.ServiceError>).code === 'number' && 'details' in e;
}
