import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { KEYD_CONFIG, KeydConfig } from '@keyd/config';
import { KeyEvents } from '@keyd/keys';
import { AppLogger, LOGGER, Readiness } from '@keyd/observability';
import { ConfigFileWriter } from './config-file.writer';
import { CoreMonitor } from './core.monitor';
import { ExpiryScheduler } from './expiry.scheduler';
import { KeyExpirer } from './key-expirer';
import { ReconcileService } from './reconcile.service';

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 30_000;

/**
 * Drives reconciliation: a startup pass before readiness, the periodic safety
 * net, the precise expiry timer, retries with backoff for pending changes, and
 * an immediate pass when the core restarts or comes back.
 */
@Injectable()
export class ReconcileJob implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private retryTimer?: NodeJS.Timeout;
  private retryDelay = RETRY_MIN_MS;
  private stopping = false;

  constructor(
    private readonly reconcile: ReconcileService,
    private readonly monitor: CoreMonitor,
    private readonly expiry: ExpiryScheduler,
    private readonly expirer: KeyExpirer,
    private readonly configFile: ConfigFileWriter,
    private readonly events: KeyEvents,
    private readonly scheduler: SchedulerRegistry,
    private readonly readiness: Readiness,
    @Inject(KEYD_CONFIG) private readonly config: Pick<KeydConfig, 'reconcile'>,
    @Inject(LOGGER) private readonly log: AppLogger,
  ) {}

  onApplicationBootstrap(): void {
    this.events.on('changed', ({ subscriptionEnd }) => {
      if (subscriptionEnd) this.expiry.noteEnd(subscriptionEnd);
      else void this.expiry.rearm();
      this.configFile.request();
    });
    this.events.on('extended', () => void this.expiry.rearm());
    this.events.on('pending', () => this.scheduleRetry());
    this.monitor.on('change', (event) => {
      this.reconcile.markRecoveryNeeded();
      void this.runPass(`core ${event}`);
    });
    void this.startup();
  }

  /** Before the store closes: let a pass in flight finish and write the config file once more. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.retryTimer);
    if (this.scheduler.doesExist('interval', 'reconcile')) this.scheduler.deleteInterval('reconcile');
    await this.reconcile.drain();
    await this.configFile.flush();
  }

  private async startup(): Promise<void> {
    await this.runPass('startup');
    await this.configFile.flush();
    this.readiness.startupPassDone();
    this.monitor.start();
    await this.expiry.start(async () => {
      await this.expirer.expireDue();
    });
    const interval = setInterval(() => void this.runPass('periodic'), this.config.reconcile.intervalSeconds * 1000);
    interval.unref();
    this.scheduler.addInterval('reconcile', interval);
  }

  private async runPass(reason: string): Promise<void> {
    if (this.stopping) return;
    try {
      const report = await this.reconcile.run({ reason });
      if (report.failed) this.scheduleRetry();
      else this.retryDelay = RETRY_MIN_MS;
      this.configFile.request();
    } catch (e) {
      this.log.error({ err: e, reason }, 'reconcile pass failed');
      this.scheduleRetry();
    }
  }

  /** Exponential backoff, one timer at a time, off the request path. */
  private scheduleRetry(): void {
    if (this.retryTimer || this.stopping) return;
    const delay = this.retryDelay;
    this.retryDelay = Math.min(this.retryDelay * 2, RETRY_MAX_MS);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.reconcile
        .retryPending()
        .then((r) => (r.failed ? this.scheduleRetry() : (this.retryDelay = RETRY_MIN_MS)))
        .catch(() => this.scheduleRetry());
    }, delay);
    this.retryTimer.unref();
  }
}
