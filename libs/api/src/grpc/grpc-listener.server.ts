import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { ChannelOptions, Server, ServerCredentials } from '@grpc/grpc-js';
import { GrpcOptions, ServerGrpc } from '@nestjs/microservices';
import { KeydConfig } from '@keyd/config';
import { AppLogger } from '@keyd/observability';
import { GrpcConnectionTracker } from './grpc-connection.tracker';

/** A TLS client that hasn't finished its handshake by then is cut off. */
export const GRPC_HANDSHAKE_TIMEOUT_MS = 10_000;
/**
 * A connection with no call open for this long gets a GOAWAY; gRPC clients
 * reconnect on their next call as a matter of course.
 */
export const GRPC_IDLE_TIMEOUT_MS = 20_000;
/** A connection still without an open call this long after its last one (or its start) is destroyed. */
export const GRPC_IDLE_CUT_MS = 25_000;
/** Calls open at once on one connection. */
export const GRPC_MAX_STREAMS_PER_CONNECTION = 100;

const GRPC_CHANNEL_OPTIONS: ChannelOptions = {
  // keyd's requests are a few hundred bytes; grpc-js would otherwise buffer up to 4 MiB per message.
  'grpc.max_receive_message_length': 1024 * 1024,
  'grpc.max_concurrent_streams': GRPC_MAX_STREAMS_PER_CONNECTION,
  'grpc.max_connection_idle_ms': GRPC_IDLE_TIMEOUT_MS,
};

type Settings = Pick<KeydConfig['grpc'], 'listen' | 'tls' | 'maxConnections'>;

/**
 * Nest's gRPC transport with keyd's own listening socket. grpc-js can cap
 * neither the connections nor the TLS handshake time of the sockets it binds,
 * so keyd binds a net (or tls) server itself, with a connection cap, a
 * handshake timeout and a hard cut of connections left without a call, and
 * hands each accepted connection to grpc-js through its connection injector.
 * TLS is terminated here too, with client certificates required when a client
 * CA is configured.
 */
export class GrpcListenerServer extends ServerGrpc {
  private listener?: net.Server;
  private readonly tracker = new GrpcConnectionTracker(GRPC_IDLE_CUT_MS);

  constructor(
    options: GrpcOptions['options'],
    private readonly settings: Settings,
    private readonly log: AppLogger,
  ) {
    super(options);
  }

  override async createClient(): Promise<Server> {
    const server = new Server({ ...GRPC_CHANNEL_OPTIONS, interceptors: [this.tracker.interceptor()] });
    const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
    const listener = this.settings.tls ? this.tlsListener(this.settings.tls) : net.createServer();
    listener.maxConnections = this.settings.maxConnections;
    // The raw socket, for both listeners: destroying it also ends a TLS handshake that never finishes.
    listener.on('connection', (socket: net.Socket) => this.tracker.accepted(socket));
    listener.on(this.settings.tls ? 'secureConnection' : 'connection', (socket: net.Socket) =>
      injector.injectConnection(socket),
    );
    // Past the cap, Node closes the new connection at once and says so here.
    listener.on('drop', () => this.log.debug('gRPC connection refused: KEYD_GRPC_MAX_CONNECTIONS reached'));
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(this.settings.listen.port, this.settings.listen.host, () => {
        listener.off('error', reject);
        resolve();
      });
    });
    listener.on('error', (e) => this.log.error({ err: e }, 'gRPC listener error'));
    this.listener = listener;
    this.tracker.start(1000);
    return server;
  }

  override async close(): Promise<void> {
    // Stop accepting; waiting for close() to call back would wait for every client to hang up.
    this.listener?.close();
    this.listener = undefined;
    this.tracker.stop();
    await super.close();
    this.tracker.destroyAll();
  }

  private tlsListener(files: NonNullable<Settings['tls']>): tls.Server {
    const read = (what: string, path: string) => {
      try {
        return readFileSync(path);
      } catch (e) {
        throw new Error(`${what} ${path} cannot be read: ${e instanceof Error ? e.message : String(e)}`);
      }
    };
    const clientCa = files.clientCa ? read('KEYD_GRPC_TLS_CLIENT_CA', files.clientCa) : undefined;
    const server = tls.createServer({
      cert: read('KEYD_GRPC_TLS_CERT', files.cert),
      key: read('KEYD_GRPC_TLS_KEY', files.key),
      ALPNProtocols: ['h2'],
      minVersion: 'TLSv1.2',
      handshakeTimeout: GRPC_HANDSHAKE_TIMEOUT_MS,
      ...(clientCa ? { ca: clientCa, requestCert: true, rejectUnauthorized: true } : {}),
    });
    // A failed handshake (no or a foreign client certificate, plain bytes, a timeout) only closes that connection.
    server.on('tlsClientError', (e, socket) => {
      this.log.debug({ err: e.message }, 'gRPC TLS handshake failed');
      socket.destroy();
    });
    return server;
  }
}
