import { KeyView } from '@keyd/domain';
import { DaemonStatus, ReconcileReport } from '@keyd/reconcile';
import { CutStatus } from '@keyd/sessions';
import { KeyJson, ReconcileJson } from './key.http.dto';

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

export function toHttpKey(k: KeyView): KeyJson {
  return {
    owner_id: k.ownerId,
    uuid: k.uuid,
    email: k.email,
    inbound_tag: k.inboundTag,
    status: k.status,
    subscription_end: k.subscriptionEnd.toISOString(),
    vless_url: k.vlessUrl,
    provisioned: k.provisioned,
    flow: k.flow,
    created_at: k.createdAt.toISOString(),
    updated_at: k.updatedAt.toISOString(),
    used_uplink_bytes: k.usage.uplinkBytes,
    used_downlink_bytes: k.usage.downlinkBytes,
    data_limit_bytes: k.dataLimitBytes,
    data_limit_reset: k.limitReset,
    device_limit: k.deviceLimit,
    usage_period_start: k.usage.periodStart.toISOString(),
    last_traffic_at: iso(k.usage.lastTrafficAt),
    lifetime_uplink_bytes: k.usage.lifetimeUplinkBytes,
    lifetime_downlink_bytes: k.usage.lifetimeDownlinkBytes,
    subscription_url: k.subscriptionUrl,
    node_group: k.nodeGroup,
    nodes: (k.nodes ?? []).map((n) => ({ name: n.name, provisioned: n.provisioned })),
  };
}

export function toHttpReport(r: ReconcileReport): ReconcileJson {
  return {
    added: r.added,
    removed: r.removed,
    expired: r.expired,
    failed: r.failed,
    unknown_removed: r.unknownRemoved,
    duration: `${(r.durationMs / 1000).toFixed(3)}s`,
    core_restart_detected: r.coreRestartDetected,
    core_reachable: r.coreReachable,
    dry_run: r.dryRun,
  };
}

export function toHttpCutStatus(c: CutStatus) {
  return {
    state: c.state,
    reason: c.reason,
    access_log: c.accessLog,
    inbound_port: c.inboundPort,
    tracked_endpoints: c.trackedEndpoints,
  };
}

export function toHttpStatus(s: DaemonStatus) {
  return {
    keys: s.keys,
    pending_changes: s.pendingChanges,
    core: {
      reachable: s.core.reachable,
      flavor: s.core.flavor,
      api_addr: s.core.apiAddr,
      inbound_tag: s.core.inboundTag,
      uptime_seconds: s.core.uptimeSeconds,
      restarts_detected: s.core.restartsDetected,
      reads: Object.fromEntries(
        Object.entries(s.core.reads).map(([read, r]) => [
          read,
          {
            failures: r.failures,
            last_failure_at: iso(r.lastFailureAt),
            last_error: r.lastError,
            last_success_at: iso(r.lastSuccessAt),
          },
        ]),
      ),
    },
    last_reconcile: s.lastReconcile && {
      ...toHttpReport(s.lastReconcile),
      finished_at: iso(s.lastReconcile.finishedAt),
    },
    config_file: {
      path: s.configFile.path,
      last_write_at: iso(s.configFile.lastWriteAt),
      written_seq: s.configFile.writtenSeq,
      writes: s.configFile.writes,
      failures: s.configFile.failures,
      last_error: s.configFile.lastError,
    },
  };
}
