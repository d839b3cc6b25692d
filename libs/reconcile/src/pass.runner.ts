import { Inject, Injectable } from '@nestjs/common';
import { AppLogger, LOGGER } from '@keyd/observability';
import { ConfigFileWriter } from './config-file.writer';
import { PendingRetrier } from './pending.retrier';
import { ReconcileService } from './reconcile.service';

/** Runs a reconcile pass for a trigger, and follows up: retries what failed, rewrites the config file. */
@Injectable()
export class PassRunner {
  private stopped = false;

  constructor(
    private readonly reconcile: ReconcileService,
    private readonly retrier: PendingRetrier,
    private readonly configFile: ConfigFileWriter,
    @Inject(LOGGER) private readonly log: AppLogger,
  ) {}

  async run(reason: string): Promise<void> {
    if (this.stopped) return;
    try {
      const report = await this.reconcile.run({ reason });
      if (report.failed) this.retrier.schedule();
      else this.retrier.succeeded();
      this.configFile.request();
    } catch (e) {
      this.log.error({ err: e, reason }, 'reconcile pass failed');
      this.retrier.schedule();
    }
  }

  /** The core may have lost its users: the next pass verifies, and this one starts now. */
  runRecovery(reason: string): Promise<void> {
    this.reconcile.markRecoveryNeeded();
    return this.run(reason);
  }

  /** No new passes; resolves when the one in flight, if any, has finished. */
  stop(): Promise<void> {
    this.stopped = true;
    this.retrier.stop();
    return this.reconcile.drain();
  }
}
