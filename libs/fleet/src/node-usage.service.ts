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
/** 256 TiB in one poll of one key is no real traffic; the cap keeps every sum far inside SQLite's integers. */
const MAX_ENTRY_BYTES = 2 ** 48;

const bytesOk = (n: number) => Number.isSafeInteger(n) && n >= 0 && n <= MAX_ENTRY_BYTES;

/** Why a report cannot be applied, or null. Nothing of a bad report is applied, and it is not acknowledged. */
function invalid(r: WireUsageReport): string | null {
  if (!STREAM.test(r.stream)) return 'bad usage stream';
  if (r.entries.length > USAGE_REPORT_MAX) return 'too many usage entries';
  let last = 0;
  for (const e of r.entries) {
    // Ids rise strictly within a report, as the outbox hands them out: the cursor never skips one unsent.
    if (!Number.isSafeInteger(e.id) || e.id <= last) return 'usage entry ids out of order';
    last = e.id;
    if (!bytesOk(e.uplink) || !bytesOk(e.downlink)) return 'bad usage entry bytes';
    if (typeof e.uuid !== 'string' || e.uuid.length > 64) return 'bad usage entry key';
  }
  return null;
}

/** A malformed report: the link is closed, so the agent's error shows, and its outbox keeps the entries. */
export class UsageReportRefused extends Error {}

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

  /** Applies a report and answers with what the node may forget; throws UsageReportRefused when it is malformed. */
  async apply(node: FleetNodeRecord, report: WireUsageReport): Promise<WireUsageAck> {
    const why = invalid(report);
    if (why) throw new UsageReportRefused(why);
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
