import { Key, KeyStatus, LimitReset } from '@keyd/domain';

/** A keys row as SQLite returns it from the raw statements of the write path. */
export interface KeyRow {
  id: number;
  owner_id: string;
  uuid: string;
  email: string;
  inbound_tag: string;
  flow: string;
  status: string;
  subscription_end: number;
  change_seq: number;
  node_group: string;
  rev: number;
  applied_seq: number;
  data_limit_bytes: number;
  limit_reset: string;
  device_limit: number;
  used_uplink: number;
  used_downlink: number;
  lifetime_uplink: number;
  lifetime_downlink: number;
  last_traffic_at: number | null;
  usage_period_start: number;
  sub_token: string | null;
  created_at: number;
  updated_at: number;
}

const date = (ms: number) => new Date(Number(ms));

export function rowToKey(r: KeyRow): Key {
  return {
    id: r.id,
    ownerId: r.owner_id,
    uuid: r.uuid,
    email: r.email,
    inboundTag: r.inbound_tag,
    flow: r.flow,
    status: r.status as KeyStatus,
    subscriptionEnd: date(r.subscription_end),
    provisioned: r.applied_seq >= r.change_seq,
    changeSeq: r.change_seq,
    nodeGroup: r.node_group,
    rev: r.rev,
    dataLimitBytes: r.data_limit_bytes,
    limitReset: r.limit_reset as LimitReset,
    deviceLimit: r.device_limit,
    usage: {
      uplinkBytes: r.used_uplink,
      downlinkBytes: r.used_downlink,
      lifetimeUplinkBytes: r.lifetime_uplink,
      lifetimeDownlinkBytes: r.lifetime_downlink,
      lastTrafficAt: r.last_traffic_at == null ? null : date(r.last_traffic_at),
      periodStart: date(r.usage_period_start),
    },
    subscriptionToken: r.sub_token,
    createdAt: date(r.created_at),
    updatedAt: date(r.updated_at),
  };
}

/**
 * The latest revision handed out, as SQL: the newest key change, or a node's
 * resync revision when one came later (recorded in core_state, since nodes
 * are deleted and keys never are).
 */
export const LATEST_REVISION =
  'MAX(COALESCE((SELECT MAX(rev) FROM keys), 0), COALESCE((SELECT claimed_rev FROM core_state WHERE id = 1), 0))';
