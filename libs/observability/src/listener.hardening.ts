import { clientKey } from './client-address.resolver';

/** The part of a node:http Server this file sets; the listeners themselves live in the transport libs. */
export interface HttpServerSettings {
  headersTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  timeout: number;
  maxHeadersCount: number | null;
  maxConnections: number;
  on(event: 'connection', listener: (socket: ClientSocket) => void): unknown;
}

interface ClientSocket {
  remoteAddress?: string;
  destroy(): void;
  once(event: 'close', listener: () => void): unknown;
}

/** A client that hasn't sent its whole request head by then is cut off. */
export const HEADERS_TIMEOUT_MS = 10_000;
/** The whole request, head and body, must arrive within this. */
export const REQUEST_TIMEOUT_MS = 30_000;
/** A connection that carries nothing for this long is closed. */
export const IDLE_TIMEOUT_MS = 30_000;
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** Headers past this count are dropped by the parser. */
export const MAX_HEADERS_COUNT = 100;
/** How often Node checks connections against the headers and request timeouts. */
const TIMEOUT_CHECK_INTERVAL_MS = 1_000;

export interface ListenerLimits {
  maxConnections: number;
  /** Open connections per client address (IPv6 per /64); unset means no per-client cap. */
  maxConnectionsPerClient?: number;
  /** Peers left out of the per-client count: trusted reverse proxies carry many clients. */
  exempt?: (address: string | undefined) => boolean;
}

/**
 * Bounds what one client can hold on an HTTP/1 listener: time to send a request
 * head and a whole request, idle connections, header count, and open
 * connections in total and per client. Must be called before listen(), since
 * Node arms its timeout checks when the server starts listening.
 */
export function hardenHttpServer(server: HttpServerSettings, limits: ListenerLimits): void {
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.timeout = IDLE_TIMEOUT_MS;
  server.maxHeadersCount = MAX_HEADERS_COUNT;
  server.maxConnections = limits.maxConnections;
  // Read by Node when listening starts; its default of 30 s would let a slow client hold on for up to 40 s.
  (server as HttpServerSettings & { connectionsCheckingInterval: number }).connectionsCheckingInterval =
    TIMEOUT_CHECK_INTERVAL_MS;
  if (limits.maxConnectionsPerClient !== undefined) capPerClient(server, limits.maxConnectionsPerClient, limits.exempt);
}

function capPerClient(server: HttpServerSettings, cap: number, exempt: ListenerLimits['exempt']): void {
  const open = new Map<string, number>();
  server.on('connection', (socket) => {
    if (exempt?.(socket.remoteAddress)) return;
    const key = clientKey(socket.remoteAddress);
    const count = (open.get(key) ?? 0) + 1;
    if (count > cap) {
      socket.destroy();
      return;
    }
    open.set(key, count);
    socket.once('close', () => {
      const left = (open.get(key) ?? 1) - 1;
      if (left > 0) open.set(key, left);
      else open.delete(key);
    });
  });
}
