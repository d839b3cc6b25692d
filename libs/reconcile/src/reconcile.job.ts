import { Inject, Injectable } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { KEYD_CONFIG, KeydConfig } from '@keyd/config';
import { AppLogger, LOGGER } from '@keyd/observability';
import { CoreMonitor } from './core.monitor';
import { PassRunner } from './pass.runner';

const INTERVAL = 'reconcile';

/** The periodic safety-net pass, and an immediate pass when the core restarts or comes back. */
@Injectable()
export class ReconcileJob {
  constructor(
    private readonly runner: PassRunner,
    private readonly monitor: CoreMonitor,
    private readonly scheduler: SchedulerRegistry,
    @Inject(KEYD_CONFIG) private readonly config: Pick<KeydConfig, 'reconcile'>,
    @Inject(LOGGER) private readonly log: AppLogger,
  ) {}

  /** Restarts seen by the startup pass's own probe count too, so this listens before that pass. */
  listen(): void {
    this.monitor.on('change', (event) => {
      this.runner
        .runRecovery(`core ${event}`)
        .catch((e: unknown) => this.log.error({ err: e, event }, 'recovery failed'));
    });
  }

  start(): void {
    this.monitor.start();
    const interval = setInterval(() => {
      this.runner.run('periodic').catch((e: unknown) => this.log.error({ err: e }, 'periodic pass failed'));
    }, this.config.reconcile.intervalSeconds * 1000);
    interval.unref();
    this.scheduler.addInterval(INTERVAL, interval);
  }

  stop(): void {
    if (this.scheduler.doesExist('interval', INTERVAL)) this.scheduler.deleteInterval(INTERVAL);
  }
}
