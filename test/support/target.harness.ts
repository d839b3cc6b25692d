import * as http from 'http';
import * as net from 'net';
import { LOOPBACK } from './ports.harness';

export const TARGET_OK_BODY = 'keyd-target-ok';
export const MAX_BYTES_RESPONSE = 64 * 1024 * 1024;

export interface HttpTarget {
  port: number;
  url: string;
  /** URL answering with exactly n bytes of body. */
  bytesUrl(n: number): string;
  /** URL of an endless, slow download. */
  slowUrl: string;
  close(): Promise<void>;
}

const CHUNK = Buffer.alloc(64 * 1024, 0x61);

/** Streams with backpressure so a 64 MiB response never sits in memory at once. */
function sendBytes(res: http.ServerResponse, total: number): void {
  res.writeHead(200, {
    'content-type': 'application/octet-stream',
    'content-length': String(total),
  });
  let remaining = total;
  const pump = (): void => {
    while (remaining > 0) {
      const size = Math.min(remaining, CHUNK.length);
      remaining -= size;
      const chunk = size === CHUNK.length ? CHUNK : CHUNK.subarray(0, size);
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  res.once('close', () => {
    remaining = 0;
  });
  pump();
}

const SLOW_CHUNK = Buffer.alloc(8 * 1024, 0x62);
const SLOW_TICK_MS = 50;

/** An endless download, about 160 KB/s, until the client goes away. */
function sendSlowForever(res: http.ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  const timer = setInterval(() => res.write(SLOW_CHUNK), SLOW_TICK_MS);
  res.once('close', () => clearInterval(timer));
}

function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = req.url ?? '/';
  if (req.method !== 'GET') {
    res.writeHead(405).end();
    return;
  }
  if (url === '/') {
    res.writeHead(200, {
      'content-type': 'text/plain',
      'content-length': String(Buffer.byteLength(TARGET_OK_BODY)),
    });
    res.end(TARGET_OK_BODY);
    return;
  }
  if (url === '/slow') {
    sendSlowForever(res);
    return;
  }
  const bytes = /^\/bytes\/(\d+)$/.exec(url);
  if (bytes !== null) {
    const total = Number(bytes[1]);
    if (!Number.isSafeInteger(total) || total > MAX_BYTES_RESPONSE) {
      res.writeHead(400).end(`at most ${MAX_BYTES_RESPONSE} bytes`);
      return;
    }
    sendBytes(res, total);
    return;
  }
  res.writeHead(404).end();
}

export function startHttpTarget(): Promise<HttpTarget> {
  const sockets = new Set<net.Socket>();
  const server = http.createServer(handle);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error(`unexpected listen address: ${String(address)}`));
        return;
      }
      const port = address.port;
      resolve({
        port,
        url: `http://${LOOPBACK}:${port}/`,
        bytesUrl: (n: number) => `http://${LOOPBACK}:${port}/bytes/${n}`,
        slowUrl: `http://${LOOPBACK}:${port}/slow`,
        close: () =>
          new Promise<void>((done) => {
            // Keep-alive and half-finished downloads would otherwise hold
            // close() open until they time out on their own.
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
