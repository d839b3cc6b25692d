import { Inject, Injectable } from '@nestjs/common';
import { KEYD_CONFIG, KeydConfig } from '@keyd/config';
import { KeyStatus } from '@keyd/domain';
import { CoreRead, CoreReadState } from '@keyd/observability';
import { KeyRepository } from '@keyd/store';
import { ConfigFileStatus, ConfigFileWriter } from './config-file.writer';
import { CoreMonitor } from './core.monitor';
import { ReconcileService } from './reconcile.service';
import { ReconcileReport } from './reconcile.types';

export interface DaemonStatus {
  keys: Record<KeyStatus, number>;
  pendingChanges: number;
  core: {
    reachable: boolean;
    flavor: string;
    apiAddr: string;
    inboundTag: string;
    uptimeSeconds: number | null;
    restartsDetected: number;
    reads: Record<CoreRead, CoreReadState>;
  };
  lastReconcile: (ReconcileReport & { finishedAt: Date }) | null;
  configFile: ConfigFileStatus;
}

/** What an operator asks first: how many keys, is the core there, did the last pass and write work. */
@Injectable()
export class StatusService {
  constructor(
    private readonly keys: KeyRepository,
    private readonly monitor: CoreMonitor,
    private readonly reconcile: ReconcileService,
    private readonly configFile: ConfigFileWriter,
    @Inject(KEYD_CONFIG) private readonly config: Pick<KeydConfig, 'core'>,
  ) {}

  async status(): Promise<DaemonStatus> {
    return {
      keys: await this.keys.countByStatus(),
      pendingChanges: await this.keys.countPending(),
      core: {
        reachable: this.monitor.isReachable,
        flavor: this.config.core.flavor,
        apiAddr: this.config.core.apiAddr,
        inboundTag: this.config.core.inboundTag,
        uptimeSeconds: this.monitor.uptimeSeconds,
        restartsDetected: this.monitor.restartsDetected,
        reads: this.monitor.reads.snapshot(),
      },
      lastReconcile: this.reconcile.lastPass,
      configFile: this.configFile.status(),
    };
  }
}
