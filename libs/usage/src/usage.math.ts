import { LimitReset } from '@keyd/domain';
import { PeriodStarts, StatsClock, UsageBaseline, UsageDelta } from '@keyd/store';

/** One key's counters as the core reports them; a direction is absent until it first carries traffic. */
export interface CounterReading {
  uplink?: number;
  downlink?: number;
}

/** Wall-clock slack when comparing boot instants: uptime has whole-second resolution and clocks get adjusted. */
export const BOOT_SLACK_MS = 120_000;

/**
 * Bytes since the last reading of one counter. Without a previous reading, or
 * after the core restarted or the counter went backwards (both mean it started
 * again from zero), everything it holds is new.
 */
export function counterDelta(last: number | null, current: number, coreRestarted: boolean): number {
  if (last === null || coreRestarted || current < last) return current;
  return current - last;
}

/**
 * Whether the core restarted since the previous poll: its uptime went
 * backwards, or it booted clearly later than the previous poll's core did
 * (a restart while keyd was down for longer than the old uptime).
 */
export function coreRestarted(previous: StatsClock | null, uptimeSeconds: number, now: Date): boolean {
  if (!previous) return false;
  if (uptimeSeconds < previous.uptimeSeconds) return true;
  const bootAt = now.getTime() - uptimeSeconds * 1000;
  return bootAt - previous.bootAt.getTime() > BOOT_SLACK_MS;
}

/** `user>>>EMAIL>>>traffic>>>uplink|downlink`, keyed by email. Other counters are ignored. */
export function parseUserCounters(stats: { name: string; value: number }[]): Map<string, CounterReading> {
  const out = new Map<string, CounterReading>();
  for (const { name, value } of stats) {
    const parts = name.split('>>>');
    if (parts.length !== 4 || parts[0] !== 'user' || parts[2] !== 'traffic') continue;
    const direction = parts[3] === 'uplink' ? 'uplink' : parts[3] === 'downlink' ? 'downlink' : null;
    if (!direction || !parts[1]) continue;
    const reading = out.get(parts[1].toLowerCase()) ?? {};
    reading[direction] = value;
    out.set(parts[1].toLowerCase(), reading);
  }
  return out;
}

/** Deltas for the keys whose counters moved or were read for the first time; unchanged keys are left out. */
export function usageDeltas(
  baselines: UsageBaseline[],
  readings: Map<string, CounterReading>,
  restarted: boolean,
): UsageDelta[] {
  const out: UsageDelta[] = [];
  for (const b of baselines) {
    const r = readings.get(b.email.toLowerCase());
    if (!r) continue;
    const up = r.uplink === undefined ? 0 : counterDelta(b.rawUplink, r.uplink, restarted);
    const down = r.downlink === undefined ? 0 : counterDelta(b.rawDownlink, r.downlink, restarted);
    const rawUplink = r.uplink ?? null;
    const rawDownlink = r.downlink ?? null;
    if (up === 0 && down === 0 && rawUplink === b.rawUplink && rawDownlink === b.rawDownlink) continue;
    out.push({ keyId: b.keyId, uplink: up, downlink: down, rawUplink, rawDownlink });
  }
  return out;
}

/** Start of the UTC day, the UTC week (Monday) and the UTC month containing now. */
export function periodStarts(now: Date): PeriodStarts {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  const d = now.getUTCDate();
  const day = new Date(Date.UTC(y, m, d));
  const sinceMonday = (now.getUTCDay() + 6) % 7;
  return { day, week: new Date(Date.UTC(y, m, d - sinceMonday)), month: new Date(Date.UTC(y, m, 1)) };
}

export function periodStart(reset: LimitReset, now: Date): Date | null {
  return reset === 'none' ? null : periodStarts(now)[reset];
}
