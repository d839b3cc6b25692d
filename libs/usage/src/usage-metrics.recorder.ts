import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { CoreReads, Metrics } from '@keyd/observability';
import { UsagePoller } from './usage.poller';

/** Turns poll reports into Prometheus series and the core's read health, so the poller knows nothing of metrics. */
@Injectable()
export class UsageMetricsRecorder implements OnApplicationBootstrap {
  constructor(
    private readonly poller: UsagePoller,
    private readonly metrics: Metrics,
    private readonly reads: CoreReads,
  ) {}

  onApplicationBootstrap(): void {
    const m = this.metrics;
    this.poller.on('poll', (r) => {
      m.usagePolls.inc({ result: r.read ? 'read' : 'core_unreadable' });
      if (r.read) this.reads.succeeded('usage_poll');
      else if (r.readError) this.reads.failed('usage_poll', r.readError);
      m.usagePollSeconds.observe(r.durationMs / 1000);
      m.usageBytes.inc({ direction: 'uplink' }, r.uplinkBytes);
      m.usageBytes.inc({ direction: 'downlink' }, r.downlinkBytes);
      m.dataLimitChanges.inc({ change: 'suspended' }, r.suspended);
      m.dataLimitChanges.inc({ change: 'reactivated' }, r.reactivated);
    });
    this.poller.on('failed', () => m.usagePolls.inc({ result: 'failed' }));
  }
}
