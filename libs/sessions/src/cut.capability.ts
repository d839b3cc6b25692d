import { promises as fs } from 'node:fs';
import * as net from 'node:net';
import { ConnectionCutter, CutError } from './connection.cutter';

const CAP_NET_ADMIN = 12;
const SELF_TEST_MS = 2000;

/** Whether this process may destroy sockets: CAP_NET_ADMIN in its effective set. */
export async function hasNetAdmin(statusPath = '/proc/self/status'): Promise<boolean> {
  const text = await fs.readFile(statusPath, 'utf8').catch(() => '');
  const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(text)?.[1];
  if (hex === undefined) return false;
  return ((BigInt(`0x${hex}`) >> BigInt(CAP_NET_ADMIN)) & 1n) === 1n;
}

/**
 * Proves cutting works before relying on it: opens a loopback connection to a
 * listener of its own and destroys the accepted side the way a user's
 * connection is destroyed. Resolves null when the client saw it close, else
 * the reason.
 */
export async function selfTest(cutter: ConnectionCutter): Promise<string | null> {
  const server = net.createServer();
  const accepted = new Set<net.Socket>();
  server.on('connection', (s) => {
    accepted.add(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  const client = net.connect({ port, host: '127.0.0.1' });
  client.on('error', () => undefined);
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    const closed = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), SELF_TEST_MS);
      client.once('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    const n = await cutter.cut(port, [{ ip: '127.0.0.1', port: client.localPort as number }]);
    if (n === 0) return 'ss -K destroyed nothing: the kernel may lack CONFIG_INET_DIAG_DESTROY';
    return (await closed) ? null : 'a destroyed socket stayed open';
  } catch (e) {
    return e instanceof CutError ? e.message : String(e);
  } finally {
    client.destroy();
    for (const s of accepted) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
