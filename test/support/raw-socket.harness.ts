import * as grpc from '@grpc/grpc-js';
import * as net from 'net';
import * as tls from 'tls';

export interface RawAnswer {
  /** Everything the server sent before closing or before the wait ended. */
  bytes: Buffer;
  /** The server closed the connection (rather than the wait ending). */
  closed: boolean;
}

/**
 * Opens a TCP connection, writes the bytes as they are, and collects what comes
 * back until the server closes or waitMs passes; then the socket is destroyed.
 */
export function sendRaw(
  host: string,
  port: number,
  payload: Buffer | string,
  opts: { waitMs?: number; localAddress?: string } = {},
): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = net.connect({ host, port, localAddress: opts.localAddress });
    let timer: NodeJS.Timeout | undefined;
    const done = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ bytes: Buffer.concat(chunks), closed });
    };
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.on('close', () => done(true));
    socket.on('connect', () => {
      socket.write(payload);
      timer = setTimeout(() => done(false), opts.waitMs ?? 1500);
    });
  });
}

/** The HTTP status of the first response line, or null when the server sent no HTTP response. */
export function statusOf(answer: RawAnswer): number | null {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(answer.bytes.toString('latin1'));
  return m ? Number(m[1]) : null;
}

/** A real TLS ClientHello, as a TLS client sends it first on a connection. */
export function captureClientHello(): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let client: tls.TLSSocket | undefined;
    const server = net.createServer((socket) => {
      socket.once('data', (hello: Buffer) => {
        socket.destroy();
        client?.destroy();
        server.close();
        resolve(hello);
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      client = tls.connect({ host: '127.0.0.1', port, servername: 'keyd.example' });
      client.on('error', () => undefined);
    });
    server.on('error', reject);
  });
}

const HTTP1_HEAD = Buffer.from(`GET /sub/${'d'.repeat(32)} HTTP/1.1\r\nHost: keyd\r\nX-Slow: ${'a'.repeat(10_000)}`);

/** Opens a connection that sends a request head (HTTP/1 unless given) one byte at a time and never finishes it. */
export function dribble(
  host: string,
  port: number,
  opts: { intervalMs: number; localAddress?: string; head?: Buffer },
): { socket: net.Socket; stop: () => void } {
  const head = opts.head ?? HTTP1_HEAD;
  const socket = net.connect({ host, port, localAddress: opts.localAddress });
  let at = 0;
  const timer = setInterval(() => {
    if (socket.writable && at < head.length) socket.write(head.subarray(at, ++at));
  }, opts.intervalMs);
  socket.on('error', () => undefined);
  socket.once('close', () => clearInterval(timer));
  const stop = () => {
    clearInterval(timer);
    socket.destroy();
  };
  return { socket, stop };
}

export interface RawConnection {
  socket: net.Socket;
}

/** Connects, writes the bytes, and leaves the connection open; resolves once connected. */
export function openRaw(host: string, port: number, payload: Buffer): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      socket.write(payload);
      resolve({ socket });
    });
    socket.once('close', () => reject(new Error('closed before connecting')));
  });
}

/** Sends bytes as they are to a unary gRPC method and answers the status the server ends the call with. */
export function unaryStatus(client: grpc.Client, method: string, bytes: Buffer): Promise<number> {
  return new Promise((resolve) =>
    client.makeUnaryRequest(
      method,
      (b: Buffer) => b,
      (b: Buffer) => b,
      bytes,
      (err) => resolve(err ? err.code : grpc.status.OK),
    ),
  );
}
