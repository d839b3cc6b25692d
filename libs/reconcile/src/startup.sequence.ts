import { BeforeApplicationShutdown, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { Readiness } from '@keyd/observability';
import { ConfigFileWriter } from './config-file.writer';
import { PassRunner } from './pass.runner';
import { ReconcileJob } from './reconcile.job';
import { ReconcileTriggers } from './reconcile.triggers';

/**
 * The order things start and stop in. keyd reports ready only after the
 * startup pass has converged the core and the config file; on shutdown the pass
 * in flight finishes and the file is written once more before the store closes.
 */
@Injectable()
export class StartupSequence implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(
    private readonly runner: PassRunner,
    private readonly job: ReconcileJob,
    private readonly triggers: ReconcileTriggers,
    private readonly configFile: ConfigFileWriter,
    private readonly readiness: Readiness,
  ) {}

  onApplicationBootstrap(): void {
    // Listeners first, so that nothing the startup pass causes goes unheard.
    this.triggers.listen();
    this.job.listen();
    this.startup().catch((e: unknown) => this.readiness.startupFailed(e instanceof Error ? e.message : String(e)));
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.job.stop();
    await this.runner.stop();
    await this.configFile.flush();
  }

  private async startup(): Promise<void> {
    await this.runner.run('startup');
    await this.configFile.flush();
    this.readiness.startupPassDone();
    this.job.start();
    await this.triggers.startExpiry();
  }
}
