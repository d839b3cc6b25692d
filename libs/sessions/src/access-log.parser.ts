/** One connection the core accepted for a user: who, and from which client address and port. */
export interface AccessEntry {
  email: string;
  ip: string;
  port: number;
}

/*
 * V2Ray 4.34:  2026/12/02 08:00:00 127.0.0.2:50039 accepted tcp:example.com:443 email: alice.1
 * Xray:        2026/12/02 08:00:00.123456 from tcp:[::1]:50039 accepted tcp:example.com:443 [in -> out] email: alice.1
 *
 * The destination (and, on Xray, a sniffed host) is chosen by the client, so
 * it may contain spaces, "accepted" or "email: someone". The parse therefore
 * anchors on the two ends of the line, which the core writes itself: the
 * client address right after the timestamp, and the email as the very last
 * field, after everything the client controls. Emails never contain spaces,
 * colons or brackets, and the core puts a space after "email:", so a
 * destination's trailing ":port" or a route "[…]" can never pass for one.
 */
const LINE =
  /^(?:\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}(?:\.\d{1,9})? )?(?:from )?(?:(?:tcp|udp):)?(\d{1,3}(?:\.\d{1,3}){3}|\[[0-9A-Fa-f:.]{2,45}\]):(\d{1,5}) accepted .* email: ([^\s:[\]]{1,256})$/;

/** Longest line worth a regex run; anything longer is not an access line the core writes. */
export const MAX_ACCESS_LINE = 4096;

export const isIPv4Text = (ip: string): boolean => /^\d{1,3}(\.\d{1,3}){3}$/.test(ip);

/** Canonical text of an IP address, the same form the kernel's socket tables are rendered in. */
export function canonicalIp(raw: string): string | null {
  if (isIPv4Text(raw))
    return raw.split('.').every((o) => Number(o) <= 255 && (o.length === 1 || o[0] !== '0')) ? raw : null;
  if (!/^[0-9A-Fa-f:.]+$/.test(raw) || !raw.includes(':')) return null;
  let host: string;
  try {
    host = new URL(`http://[${raw}]/`).hostname.slice(1, -1);
  } catch {
    return null;
  }
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (mapped) {
    const hi = parseInt(mapped[1] as string, 16);
    const lo = parseInt(mapped[2] as string, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return host;
}

/** The accepted connection a line records, or null for anything else (rejections, DNS, noise, hostile text). */
export function parseAccessLine(line: string): AccessEntry | null {
  const trimmed = line.replace(/\s+$/, '');
  if (trimmed.length > MAX_ACCESS_LINE) return null;
  const m = LINE.exec(trimmed);
  if (!m) return null;
  const [, rawIp, rawPort, email] = m as unknown as [string, string, string, string];
  const ip = canonicalIp(rawIp.startsWith('[') ? rawIp.slice(1, -1) : rawIp);
  const port = Number(rawPort);
  if (ip === null || port < 1 || port > 65_535) return null;
  return { email, ip, port };
}
