import { EventEmitter } from 'node:events';
import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { KEYD_CONFIG, KeydConfig } from '@keyd/config';
import { AppLogger, CoreReads, LOGGER, Readiness } from '@keyd/observability';
import { XrayClient } from '@keyd/xray';
import { CoreStateEvent } from './reconcile.types';

/**
 * Watches the core through GetSysStats. Its uptime going backwards means the
 * core restarted and lost the users added through the API; coming back after
 * being unreachable may mean the same, so both are reported.
 */
@Injectable()
export class CoreMonitor extends EventEmitter<{ change: [CoreStateEvent] }> implements OnModuleDestroy {
  private timer?: NodeJS.Timeout;
  private lastUptime: number | null = null;
  private reachable: boolean | null = null;
  private restarts = 0;
  private connectionLost = false;

  constructor(
    private readonly core: XrayClient,
    private readonly readiness: Readiness,
    /** How the reads that features depend on went, shown next to the core's reachability. */
    readonly reads: CoreReads,
    @Inject(LOGGER) private readonly log: AppLogger,
    @Inject(KEYD_CONFIG) private readonly config: Pick<KeydConfig, 'core'>,
  ) {
    super();
    core.onConnectionLost(() => (this.connectionLost = true));
  }

  get isReachable(): boolean {
    return this.reachable === true;
  }

  get uptimeSeconds(): number | null {
    return this.lastUptime;
  }

  get restartsDetected(): number {
    return this.restarts;
  }

  start(): void {
    const tick = (): void => {
      this.probe()
        .catch((e: unknown) => this.log.error({ err: e }, 'core probe failed'))
        .finally(() => {
          this.timer = setTimeout(tick, this.config.core.probeIntervalMs);
          this.timer.unref();
        });
    };
    tick();
  }

  onModuleDestroy(): void {
    clearTimeout(this.timer);
  }

  /**
   * Whether the core looks restarted or reconnected since the last probe,
   * without recording anything: for dry runs, which must leave the real
   * detection to the monitor.
   */
  async peek(): Promise<CoreStateEvent | 'up' | 'down'> {
    try {
      const uptime = (await this.core.sysStats()).uptimeSeconds;
      if (this.lastUptime !== null && uptime < this.lastUptime) return 'restarted';
      return this.reachable === false || this.connectionLost ? 'reconnected' : 'up';
    } catch {
      return 'down';
    }
  }

  /** One probe; returns what it saw. Also used to prime the state before the startup pass. */
  async probe(): Promise<CoreStateEvent | 'up' | 'down'> {
    let uptime: number;
    try {
      uptime = (await this.core.sysStats()).uptimeSeconds;
    } catch (e) {
      if (this.reachable !== false)
        this.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'core unreachable');
      this.reachable = false;
      this.readiness.coreReachable(false);
      return 'down';
    }
    const wasDown = this.reachable === false || this.connectionLost;
    this.connectionLost = false;
    const restarted = this.lastUptime !== null && uptime < this.lastUptime;
    this.lastUptime = uptime;
    this.reachable = true;
    this.readiness.coreReachable(true);
    const event: CoreStateEvent | undefined = restarted ? 'restarted' : wasDown ? 'reconnected' : undefined;
    if (!event) return 'up';
    if (restarted) this.restarts++;
    this.log.warn(
      { event, uptime_seconds: uptime },
      event === 'restarted' ? 'core restart detected' : 'core reachable again',
    );
    this.emit('change', event);
    return event;
  }
}
