import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, Clock } from '@keyd/domain';
import { KeySyncService } from '@keyd/keys';
import { AppLogger, LOGGER } from '@keyd/observability';
import { FleetNodeRecord, NodeUsageEntry, UsageRepository } from '@keyd/store';
import { FleetMetrics } from './fleet.metrics';
import { WireUsageAck, WireUsageReport } from './fleet.protos';

/** The most entries one report may carry; an agent sends a page of its outbox at a time. */
export const USAGE_REPORT_MAX = 1000;
const STREAM = /^[0-9a-f]{1,64}$/;
const MAX_BYTES = Number.MAX_SAFE_INTEGER;

/** Why a report cannot be applied, or null. Nothing of a bad report is applied, and it is not acknowledged. */
function invalid(r: WireUsageReport): string | null {
  if (!STREAM.test(r.stream)) return 'bad usage stream';
  if (r.entries.length > USAGE_REPORT_MAX) return 'too many usage entries';
  for (const e of r.entries) {
    const bytes = [e.id, e.uplink, e.downlink];
    if (!bytes.every((n) => Number.isSafeInteger(n) && n >= 0 && n <= MAX_BYTES) || e.id === 0)
      return 'bad usage entry';
    if (typeof e.uuid !== 'string' || e.uuid.length > 64) return 'bad usage entry';
  }
  return null;
}

/**
 * Usage counted on agents' nodes: each entry is added to its key once (the
 * store records the last entry id applied per node with the bytes), so a key's
 * usage is the sum over its nodes and a resend never counts twice. Data limits
 * apply to that sum, on the control plane, which suspends the key everywhere.
 */
@Injectable()
export class NodeUsageService {
  constructor(
    private readonly usage: UsageRepository,
    private readonly sync: KeySyncService,
    private readonly metrics: FleetMetrics,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) private readonly log: AppLogger,
  ) {}

  /** Applies a report and answers with what the node may forget; null when the report is malformed. */
  async apply(node: FleetNodeRecord, report: WireUsageReport): Promise<WireUsageAck | null> {
    const why = invalid(report);
    if (why) {
      this.log.warn({ node: node.name, reason: why }, 'usage report refused');
      return null;
    }
    const entries: NodeUsageEntry[] = report.entries;
    const r = await this.usage.applyNodeUsage(node.id, report.stream, entries, this.clock.now());
    this.metrics.usageEntries.inc({ node: node.name, outcome: 'applied' }, r.applied);
    this.metrics.usageEntries.inc({ node: node.name, outcome: 'skipped' }, entries.length - r.applied);
    for (const k of r.suspended)
      this.log.info({ event: 'suspend', owner: k.ownerId, key_id: k.id, node: node.name }, 'data limit reached');
    await this.sync.converge(r.suspended);
    return { stream: report.stream, up_to_id: r.appliedUpTo };
  }
}
