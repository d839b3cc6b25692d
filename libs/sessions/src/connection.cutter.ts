import { execFile } from 'node:child_process';
import { canonicalIp, isIPv4Text } from './access-log.parser';

/** An endpoint to cut: the client side of a connection to the inbound's port. */
export interface RemoteEndpoint {
  ip: string;
  port: number;
}

export class CutError extends Error {
  constructor(
    message: string,
    readonly kind: 'missing' | 'refused' | 'failed',
  ) {
    super(message);
    this.name = 'CutError';
  }
}

/** Endpoints per `ss` run: keeps each argv short and each kernel walk bounded. */
const BATCH = 64;
const SS_TIMEOUT_MS = 5000;

const validPort = (p: number): boolean => Number.isInteger(p) && p >= 1 && p <= 65_535;

/**
 * The `ss` filter for exactly these endpoints on the local port, as argv
 * tokens. Every address is re-derived from its canonical form and every port
 * checked as an integer, so nothing but an address and a number reaches `ss`;
 * it runs without a shell. An IPv4 client of a dual-stack listener shows as
 * ::ffff:a.b.c.d, so both spellings are matched.
 */
export function ssFilter(localPort: number, endpoints: RemoteEndpoint[]): string[] {
  if (!validPort(localPort)) throw new Error(`invalid local port ${localPort}`);
  const alternatives: string[][] = [];
  for (const e of endpoints) {
    const ip = canonicalIp(e.ip);
    if (ip === null || ip !== e.ip || !validPort(e.port)) throw new Error(`invalid endpoint ${e.ip}:${e.port}`);
    const hosts = isIPv4Text(ip) ? [ip, `[::ffff:${ip}]`] : [`[${ip}]`];
    for (const host of hosts) alternatives.push(['(', 'dst', host, 'and', 'dport', '=', `:${e.port}`, ')']);
  }
  const anyOf = alternatives.flatMap((a, i) => (i === 0 ? a : ['or', ...a]));
  return ['(', 'sport', '=', `:${localPort}`, ')', 'and', '(', ...anyOf, ')'];
}

export type SsRunner = (args: string[]) => Promise<{ stdout: string; stderr: string }>;

export const runSs: SsRunner = (args) =>
  new Promise((resolve, reject) => {
    execFile('ss', args, { timeout: SS_TIMEOUT_MS, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        reject(
          code === 'ENOENT'
            ? new CutError('ss (iproute2) is not installed', 'missing')
            : new CutError(`ss failed: ${stderr.trim() || err.message}`, 'failed'),
        );
        return;
      }
      resolve({ stdout, stderr });
    });
  });

/**
 * Destroys TCP sockets with `ss -K` (SOCK_DESTROY): the core's side of each
 * connection closes at once and the client gets a reset. Needs CAP_NET_ADMIN
 * and a kernel built with CONFIG_INET_DIAG_DESTROY.
 */
export class ConnectionCutter {
  constructor(private readonly run: SsRunner = runSs) {}

  /** Returns how many sockets were destroyed. Throws CutError when the kernel or the tool refuses. */
  async cut(localPort: number, endpoints: RemoteEndpoint[]): Promise<number> {
    let cut = 0;
    for (let i = 0; i < endpoints.length; i += BATCH) {
      const args = ['-K', '-t', '-n', '-H', ...ssFilter(localPort, endpoints.slice(i, i + BATCH))];
      const { stdout, stderr } = await this.run(args);
      // ss reports a refused SOCK_DESTROY on stderr and still exits 0.
      if (/SOCK_DESTROY answers/.test(stderr)) throw new CutError(stderr.trim().split('\n')[0] ?? '', 'refused');
      cut += stdout.split('\n').filter((l) => l.trim() !== '').length;
    }
    return cut;
  }
}
