/** keyd's messages as the CLI receives them (proto field names, enums as names). */
export interface WireTimestamp {
  seconds: number;
  nanos: number;
}

export interface WireKey {
  owner_id: string;
  uuid: string;
  email: string;
  inbound_tag: string;
  status: string;
  subscription_end: WireTimestamp | null;
  vless_url: string;
  provisioned: boolean;
  used_uplink_bytes: number;
  used_downlink_bytes: number;
  data_limit_bytes: number;
  data_limit_reset: string;
  subscription_url: string;
}

export interface WireGrant {
  key: WireKey;
  action: string;
}

export interface WireReconcileReport {
  added: number;
  removed: number;
  expired: number;
  failed: number;
  unknown_removed: number;
  core_restart_detected: boolean;
  core_reachable: boolean;
  dry_run: boolean;
  duration: WireTimestamp | null;
}

export interface WireStatus {
  keys: { active: number; expired: number; revoked: number; suspended: number };
  pending_changes: number;
  core: {
    reachable: boolean;
    flavor: string;
    api_addr: string;
    inbound_tag: string;
    uptime_seconds?: number;
    restarts_detected: number;
  };
  last_reconcile: WireReconcileReport | null;
  last_reconcile_at: WireTimestamp | null;
  config_file: {
    path: string;
    last_write_at: WireTimestamp | null;
    writes: number;
    failures: number;
    last_error: string;
  };
}

export interface WireNodeLink {
  security: string;
  type: string;
  flow: string;
  sni: string;
  pbk: string;
  sid: string;
  fp: string;
}

export interface WireNode {
  name: string;
  group: string;
  public_host: string;
  public_port: number;
  link: WireNodeLink | null;
  enabled: boolean;
  kind: string;
  connected: boolean;
  last_seen: WireTimestamp | null;
  acked_revision: number;
  revision_lag: number;
  pending_keys: number;
  core_reachable: boolean;
  core_uptime_seconds: number;
  core_restarts: number;
  draining: boolean;
}

export interface WireCreatedNode {
  node: WireNode;
  join_token: string;
}
