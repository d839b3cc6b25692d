import { promises as fs } from 'node:fs';
import { execFile } from 'node:child_process';

const CAP_NET_ADMIN = 12;

/** Whether this process may destroy sockets: CAP_NET_ADMIN in its effective set. */
export async function hasNetAdmin(statusPath = '/proc/self/status'): Promise<boolean> {
  const text = await fs.readFile(statusPath, 'utf8').catch(() => '');
  const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(text)?.[1];
  if (hex === undefined) return false;
  return ((BigInt(`0x${hex}`) >> BigInt(CAP_NET_ADMIN)) & 1n) === 1n;
}

/** Whether `ss` runs at all; whether the kernel allows SOCK_DESTROY shows at the first cut. */
export function ssInstalled(): Promise<boolean> {
  return new Promise((resolve) => execFile('ss', ['-V'], { timeout: 5000 }, (err) => resolve(err === null)));
}
