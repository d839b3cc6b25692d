import { ServerInterceptingCall, ServerInterceptor } from '@grpc/grpc-js';

interface Tracked {
  socket: { destroy(): void };
  openCalls: number;
  idleSince: number;
}

interface Peer {
  remoteAddress?: string;
  remotePort?: number;
}

const keyOf = (p: Peer) => `${p.remoteAddress ?? ''}|${p.remotePort ?? 0}`;

/**
 * Knows, for each accepted gRPC connection, how many calls it has open, and
 * destroys those that have had none for too long. grpc-js sends an idle
 * connection a GOAWAY first (grpc.max_connection_idle_ms), which well-behaved
 * clients follow; this is the hard cut for a client that ignores it or never
 * completes a request, such as one that dribbles its first HEADERS frame.
 */
export class GrpcConnectionTracker {
  private readonly connections = new Map<string, Tracked>();
  private sweeper?: NodeJS.Timeout;

  constructor(
    private readonly idleCutMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.connections.size;
  }

  /** A new connection, as the listener accepted it; forgotten when it closes. */
  accepted(socket: Peer & { destroy(): void; once(event: 'close', listener: () => void): unknown }): void {
    const key = keyOf(socket);
    this.connections.set(key, { socket, openCalls: 0, idleSince: this.now() });
    socket.once('close', () => this.connections.delete(key));
  }

  /** Counts each call against the connection it arrived on. */
  interceptor(): ServerInterceptor {
    return (_method, call) => {
      const tracked = this.connections.get(keyOf(call.getConnectionInfo()));
      if (!tracked) return new ServerInterceptingCall(call);
      tracked.openCalls++;
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        tracked.openCalls--;
        tracked.idleSince = this.now();
      };
      return new ServerInterceptingCall(call, {
        start: (next) => next({ onCancel: end }),
        sendStatus: (status, next) => {
          end();
          next(status);
        },
      });
    };
  }

  /** Destroys every connection without an open call for idleCutMs. */
  sweep(): void {
    const now = this.now();
    for (const t of this.connections.values())
      if (t.openCalls === 0 && now - t.idleSince >= this.idleCutMs) t.socket.destroy();
  }

  start(intervalMs: number): void {
    this.sweeper = setInterval(() => this.sweep(), intervalMs);
    this.sweeper.unref();
  }

  stop(): void {
    clearInterval(this.sweeper);
  }

  /** At shutdown, after grpc-js has ended its sessions: whatever is still connected. */
  destroyAll(): void {
    for (const t of this.connections.values()) t.socket.destroy();
  }
}
