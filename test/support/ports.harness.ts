import * as net from 'net';

export const LOOPBACK = '127.0.0.1';

function listenOnEphemeral(): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: LOOPBACK, port: 0, exclusive: true }, () => resolve(server));
  });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function portOf(server: net.Server): number {
  const address = server.address();
  if (address === null || typeof address === 'string') {
    throw new Error(`unexpected listen address: ${String(address)}`);
  }
  return address.port;
}

/**
 * Holds all listeners open until every port is read, so the kernel cannot
 * hand the same ephemeral port out twice within one call; separate calls
 * to freePort() give no such guarantee.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      servers.push(await listenOnEphemeral());
    }
    return servers.map(portOf);
  } finally {
    await Promise.all(servers.map(closeServer));
  }
}

export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  if (port === undefined) {
    throw new Error('no free port allocated');
  }
  return port;
}
