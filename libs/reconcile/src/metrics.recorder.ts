import { Injectable, OnModuleInit } from '@nestjs/common';
import { KeyEvents } from '@keyd/keys';
import { Metrics } from '@keyd/observability';
import { KeyRepository } from '@keyd/store';
import { XrayClient } from '@keyd/xray';
import { ConfigFileWriter } from './config-file.writer';
import { CoreMonitor } from './core.monitor';
import { KeyExpirer } from './key.expirer';
import { ReconcileService } from './reconcile.service';

/*
 * Recorders turn events into metrics, so that the key domain, the core client
 * and reconciliation never depend on the metrics library.
 */

@Injectable()
export class KeyMetricsRecorder implements OnModuleInit {
  constructor(
    private readonly metrics: Metrics,
    private readonly events: KeyEvents,
    private readonly keys: KeyRepository,
  ) {}

  onModuleInit(): void {
    this.events.on('granted', ({ action, provisioned, replayed }) =>
      this.metrics.grants.inc({ action, result: replayed ? 'replayed' : provisioned ? 'provisioned' : 'pending' }),
    );
    this.metrics.sources.keyCounts = () => this.keys.countByStatus();
    this.metrics.sources.pendingChanges = () => this.keys.countPending();
  }
}

@Injectable()
export class CoreMetricsRecorder implements OnModuleInit {
  constructor(
    private readonly metrics: Metrics,
    private readonly core: XrayClient,
    private readonly monitor: CoreMonitor,
  ) {}

  onModuleInit(): void {
    const m = this.metrics;
    this.core.addCallListener({
      onCoreCall: (operation, result, seconds) => {
        m.coreCalls.inc({ operation, result });
        m.coreCallSeconds.observe({ operation }, seconds);
      },
    });
    this.monitor.on('change', (cause) => m.coreRestarts.inc({ cause }));
    m.sources.coreReachable = () => this.monitor.isReachable;
  }
}

@Injectable()
export class ReconcileMetricsRecorder implements OnModuleInit {
  constructor(
    private readonly metrics: Metrics,
    private readonly reconcile: ReconcileService,
    private readonly expirer: KeyExpirer,
    private readonly configFile: ConfigFileWriter,
  ) {}

  onModuleInit(): void {
    const m = this.metrics;
    this.reconcile.on('pass', (report, reason) => {
      const kind = reason.startsWith('core ') ? 'core-event' : reason;
      m.reconcilePasses.inc({ reason: kind, result: report.failed ? 'failed' : 'ok' });
      m.reconcileSeconds.observe(report.durationMs / 1000);
      if (report.dryRun) return;
      m.driftRepaired.inc({ kind: 'added' }, report.added);
      m.driftRepaired.inc({ kind: 'removed' }, report.removed);
      m.driftRepaired.inc({ kind: 'unknown_removed' }, report.unknownRemoved);
    });
    this.expirer.on('expired', ({ lateMs }) => m.expiryLateness.observe(Math.max(0, lateMs) / 1000));
    this.configFile.on('write', (result) => m.configWrites.inc({ result }));
  }
}
