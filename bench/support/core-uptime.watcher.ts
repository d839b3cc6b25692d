import { XrayClient } from '@keyd/xray';

export interface UptimeReport {
  samples: number;
  failedSamples: number;
  /** Times the core's uptime went backwards between two samples: each one is a restart. */
  wentBackwards: number;
  firstSeconds: number | null;
  lastSeconds: number | null;
}

/**
 * Reads the core's uptime (StatsService.GetSysStats) on its own channel while
 * something runs: a restart that the pid alone might miss (same pid reused,
 * or a supervisor respawning it) still shows as uptime going backwards.
 */
export class CoreUptimeWatcher {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private last: number | null = null;
  private readonly report: UptimeReport = {
    samples: 0,
    failedSamples: 0,
    wentBackwards: 0,
    firstSeconds: null,
    lastSeconds: null,
  };

  constructor(
    private readonly client: XrayClient,
    private readonly intervalMs = 500,
  ) {}

  start(): void {
    this.running = true;
    // sample() counts its own failures and never rejects.
    const next = (): void => {
      if (this.running) this.timer = setTimeout(tick, this.intervalMs);
    };
    const tick = (): void => {
      this.sample().then(next, next);
    };
    tick();
  }

  async stop(): Promise<UptimeReport> {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.sample();
    return { ...this.report };
  }

  private async sample(): Promise<void> {
    try {
      const uptime = (await this.client.sysStats()).uptimeSeconds;
      this.report.samples++;
      if (this.last !== null && uptime < this.last) this.report.wentBackwards++;
      this.report.firstSeconds ??= uptime;
      this.report.lastSeconds = uptime;
      this.last = uptime;
    } catch {
      this.report.failedSamples++;
    }
  }
}
