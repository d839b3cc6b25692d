import { promises as fs } from 'node:fs';
import { canonicalIp } from './access-log.parser';
import { endpointKey } from './session.table';

/** Kernel TCP states that are not an open connection: LISTEN, TIME_WAIT, CLOSE. */
const NOT_OPEN = new Set(['0A', '06', '07']);

function ipv4(hex: string): string {
  const n = parseInt(hex, 16);
  return `${n & 255}.${(n >>> 8) & 255}.${(n >>> 16) & 255}.${n >>> 24}`;
}

function ipv6(hex: string): string | null {
  const groups: string[] = [];
  for (let w = 0; w < 4; w++) {
    // Each 32-bit word is printed in host (little-endian) byte order.
    const word = hex.slice(w * 8, w * 8 + 8);
    const bytes = [6, 4, 2, 0].map((i) => word.slice(i, i + 2));
    groups.push(bytes.slice(0, 2).join(''), bytes.slice(2).join(''));
  }
  return canonicalIp(groups.join(':'));
}

/** Client endpoints (`ip|port`) of the open TCP connections whose local side is `localPort`, from /proc/net/tcp{,6}. */
export function parseProcNetTcp(text: string, localPort: number, v6: boolean): string[] {
  const want = `:${localPort.toString(16).toUpperCase().padStart(4, '0')}`;
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    const local = f[1];
    const remote = f[2];
    const state = f[3];
    if (!local?.endsWith(want) || !remote || !state || NOT_OPEN.has(state)) continue;
    const [hexIp = '', hexPort = ''] = remote.split(':');
    const ip = v6 ? ipv6(hexIp) : ipv4(hexIp);
    if (ip !== null) out.push(endpointKey(ip, parseInt(hexPort, 16)));
  }
  return out;
}

/** The open connections to the inbound's port right now; needs no privilege. */
export async function readOpenEndpoints(localPort: number, root = '/proc/net'): Promise<Set<string>> {
  const open = new Set<string>();
  for (const [file, v6] of [
    ['tcp', false],
    ['tcp6', true],
  ] as const) {
    const text = await fs.readFile(`${root}/${file}`, 'utf8').catch(() => '');
    for (const key of parseProcNetTcp(text, localPort, v6)) open.add(key);
  }
  return open;
}
