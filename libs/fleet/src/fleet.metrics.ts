import { Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { Metrics } from '@keyd/observability';

/** Per-node state as the metrics show it; filled in by NodeService when scraped. */
export interface NodeGaugeValues {
  name: string;
  connected: boolean;
  revisionLag: number;
  pendingKeys: number;
  coreReachable: boolean;
  coreUptimeSeconds: number;
  coreRestarts: number;
  lastSeenSeconds: number;
}

/** The fleet's metrics, on keyd's one registry: `keyd_node_*{node}`. */
@Injectable()
export class FleetMetrics {
  source: () => Promise<NodeGaugeValues[]> = () => Promise.resolve([]);

  readonly changesSent: Counter<'node' | 'kind'>;
  readonly usageEntries: Counter<'node' | 'outcome'>;
  private readonly gauges: Record<Exclude<keyof NodeGaugeValues, 'name'>, Gauge<'node'>>;

  constructor(metrics: Metrics) {
    const registers = [metrics.registry];
    this.changesSent = new Counter({
      name: 'keyd_node_changes_sent_total',
      help: 'Key changes sent to agents, by node and by kind: delta (what changed since the agent revision) or snapshot',
      labelNames: ['node', 'kind'] as const,
      registers,
    });
    this.usageEntries = new Counter({
      name: 'keyd_node_usage_entries_total',
      help: 'Usage entries agents reported, by node and outcome: applied, or skipped (a resend of an applied entry, or a key unknown here)',
      labelNames: ['node', 'outcome'] as const,
      registers,
    });
    const gauge = (name: string, help: string, collect?: () => Promise<void>) =>
      new Gauge({ name, help, labelNames: ['node'] as const, registers, collect });
    let scrape: Promise<void> | null = null;
    // One read of the nodes per scrape, shared by every gauge below.
    const collect = () => {
      scrape ??= this.fill().finally(() => setImmediate(() => (scrape = null)));
      return scrape;
    };
    this.gauges = {
      connected: gauge(
        'keyd_node_connected',
        'Whether the node is connected: its agent link is open (1) or not (0)',
        collect,
      ),
      revisionLag: gauge(
        'keyd_node_revision_lag',
        'Changes to the node group keys after the revision the node acknowledged',
        collect,
      ),
      pendingKeys: gauge('keyd_node_pending_keys', 'Keys the node core has not confirmed, as last reported', collect),
      coreReachable: gauge('keyd_node_core_up', 'Whether the node core answered its last probe', collect),
      coreUptimeSeconds: gauge('keyd_node_core_uptime_seconds', 'The node core uptime, as last reported', collect),
      coreRestarts: gauge(
        'keyd_node_core_restarts',
        'Core restarts the node detected since its agent started',
        collect,
      ),
      lastSeenSeconds: gauge('keyd_node_last_seen_timestamp_seconds', 'When the node was last heard from', collect),
    };
  }

  private async fill(): Promise<void> {
    const nodes = await this.source();
    for (const g of Object.values(this.gauges)) g.reset();
    for (const n of nodes) {
      const node = n.name;
      this.gauges.connected.set({ node }, n.connected ? 1 : 0);
      this.gauges.revisionLag.set({ node }, n.revisionLag);
      this.gauges.pendingKeys.set({ node }, n.pendingKeys);
      this.gauges.coreReachable.set({ node }, n.coreReachable ? 1 : 0);
      this.gauges.coreUptimeSeconds.set({ node }, n.coreUptimeSeconds);
      this.gauges.coreRestarts.set({ node }, n.coreRestarts);
      this.gauges.lastSeenSeconds.set({ node }, n.lastSeenSeconds);
    }
  }
}
