import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Where gauges read their values when scraped; filled in by whoever owns the data. */
export interface GaugeSources {
  keyCounts?: () => Promise<Record<string, number>>;
  pendingChanges?: () => Promise<number>;
  coreReachable?: () => boolean;
  sessionsTracked?: () => number;
}

/** Every metric keyd exports, on one registry served at /metrics. */
export class Metrics {
  readonly registry = new Registry();
  readonly sources: GaugeSources = {};

  readonly grants = new Counter({
    name: 'keyd_grants_total',
    help: 'Answered grants by action and by whether the core held the key when the answer left',
    labelNames: ['action', 'result'] as const,
    registers: [this.registry],
  });

  readonly coreCalls = new Counter({
    name: 'keyd_core_calls_total',
    help: 'Calls to the core API by operation and result',
    labelNames: ['operation', 'result'] as const,
    registers: [this.registry],
  });

  readonly coreCallSeconds = new Histogram({
    name: 'keyd_core_call_duration_seconds',
    help: 'Latency of calls to the core API',
    labelNames: ['operation'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 3],
    registers: [this.registry],
  });

  readonly keys: Gauge<'status'> = new Gauge({
    name: 'keyd_keys',
    help: 'Keys by status, as the database holds them',
    labelNames: ['status'] as const,
    registers: [this.registry],
    collect: async () => {
      const counts = (await this.sources.keyCounts?.()) ?? {};
      for (const [status, n] of Object.entries(counts)) this.keys.set({ status }, n);
    },
  });

  readonly pendingChanges: Gauge = new Gauge({
    name: 'keyd_pending_core_changes',
    help: 'Keys whose latest change the core has not confirmed yet',
    registers: [this.registry],
    collect: async () => {
      if (this.sources.pendingChanges) this.pendingChanges.set(await this.sources.pendingChanges());
    },
  });

  readonly reconcilePasses = new Counter({
    name: 'keyd_reconcile_passes_total',
    help: 'Reconcile passes by reason and result',
    labelNames: ['reason', 'result'] as const,
    registers: [this.registry],
  });

  readonly reconcileSeconds = new Histogram({
    name: 'keyd_reconcile_duration_seconds',
    help: 'Duration of reconcile passes',
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60],
    registers: [this.registry],
  });

  readonly driftRepaired = new Counter({
    name: 'keyd_drift_repaired_total',
    help: 'Keys the reconciler pushed because the core differed from the database',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly expiryLateness = new Histogram({
    name: 'keyd_expiry_lateness_seconds',
    help: 'How long after its subscription end a key was expired',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 30, 120],
    registers: [this.registry],
  });

  readonly configWrites = new Counter({
    name: 'keyd_config_file_writes_total',
    help: 'Writes of the core config file by result (written, unchanged, failed, rejected)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly coreUp: Gauge = new Gauge({
    name: 'keyd_core_up',
    help: '1 when the last probe of the core succeeded',
    registers: [this.registry],
    collect: () => {
      if (this.sources.coreReachable) this.coreUp.set(this.sources.coreReachable() ? 1 : 0);
    },
  });

  readonly coreRestarts = new Counter({
    name: 'keyd_core_restarts_detected_total',
    help: 'Core restarts or reconnections detected, by cause',
    labelNames: ['cause'] as const,
    registers: [this.registry],
  });

  readonly usagePolls = new Counter({
    name: 'keyd_usage_polls_total',
    help: 'Traffic counter polls by result (read, core_unreadable, failed)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly usagePollSeconds = new Histogram({
    name: 'keyd_usage_poll_duration_seconds',
    help: 'Duration of a traffic counter poll, reading and committing',
    buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly coreReadFailures = new Counter({
    name: 'keyd_core_read_failures_total',
    help: 'Failed reads of the core that features depend on (usage_poll, user_listing)',
    labelNames: ['read'] as const,
    registers: [this.registry],
  });

  readonly usageBytes = new Counter({
    name: 'keyd_usage_bytes_total',
    help: 'Bytes counted for keys, by direction',
    labelNames: ['direction'] as const,
    registers: [this.registry],
  });

  readonly dataLimitChanges = new Counter({
    name: 'keyd_data_limit_status_changes_total',
    help: 'Keys suspended for reaching their data limit, or brought back by a period reset',
    labelNames: ['change'] as const,
    registers: [this.registry],
  });

  readonly connectionsCut = new Counter({
    name: 'keyd_connections_cut_total',
    help: 'Open connections destroyed, by why: the key was revoked, expired or suspended, or a device was over its limit',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly cutDelaySeconds = new Histogram({
    name: 'keyd_connection_cut_delay_seconds',
    help: 'Time from the change that ended a key (or the newcomer device) to the cut of its connections',
    labelNames: ['reason'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30],
    registers: [this.registry],
  });

  readonly cutFailures = new Counter({
    name: 'keyd_connection_cut_failures_total',
    help: 'Cuts that ss or the kernel refused',
    registers: [this.registry],
  });

  readonly cutAvailable = new Gauge({
    name: 'keyd_cut_connections_available',
    help: '1 when keyd can cut open connections; 0 with the reason as a label otherwise',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly accessLogLines = new Counter({
    name: 'keyd_access_log_lines_total',
    help: 'Lines read from the core access log, by whether they named an accepted connection',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly sessionsTracked: Gauge = new Gauge({
    name: 'keyd_sessions_tracked',
    help: 'Client endpoints currently attributed to keys from the access log',
    registers: [this.registry],
    collect: () => {
      if (this.sources.sessionsTracked) this.sessionsTracked.set(this.sources.sessionsTracked());
    },
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'keyd_process_' });
  }
}
