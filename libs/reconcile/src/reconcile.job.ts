import { Inject, Injectable } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { KEYD_CONFIG, KeydConfig } from '@keyd/config';
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
  ) {}

  /** Restarts seen by the startup pass's own probe count too, so this listens before that pass. */
  listen(): void {
    this.monitor.on('change', (event) => void this.runner.runRecovery(`core ${event}`));
  }

  start(): void {
    this.monitor.start();
    const interval = setInterval(() => void this.runner.run('periodic'), this.config.reconcile.intervalSeconds * 1000);
    interval.unref();
    this.scheduler.addInterval(INTERVAL, interval);
  }

  stop(): void {
    if (this.scheduler.doesExist('interval', INTERVAL)) this.scheduler.deleteInterval(INTERVAL);
  }
}
