import { KeydProcess } from '../../test/support/keyd.harness';

export interface LogEntry {
  timeMs: number;
  msg: string;
  fields: Record<string, unknown>;
}

/**
 * keyd's JSON log lines as the harness captured them (each prefixed with its
 * label). The time inside a line is keyd's own clock, the same machine clock
 * the bench reads, so it marks when keyd finished something more precisely
 * than the moment a poll happens to see the line.
 */
export function keydLog(keyd: KeydProcess): LogEntry[] {
  const out: LogEntry[] = [];
  for (const line of keyd.logs().split('\n')) {
    const at = line.indexOf('{');
    if (at < 0) continue;
    try {
      const fields = JSON.parse(line.slice(at)) as Record<string, unknown>;
      const time = typeof fields['time'] === 'string' ? Date.parse(fields['time']) : NaN;
      if (Number.isNaN(time)) continue;
      out.push({ timeMs: time, msg: String(fields['msg'] ?? ''), fields });
    } catch {
      // Not a log line of keyd's: Node warnings and the like.
    }
  }
  return out;
}

export async function waitForLog(
  keyd: KeydProcess,
  match: (entry: LogEntry) => boolean,
  timeoutMs: number,
  pollMs = 20,
): Promise<LogEntry | null> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const hit = keydLog(keyd).find(match);
    if (hit) return hit;
    if (Date.now() >= until) return null;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
