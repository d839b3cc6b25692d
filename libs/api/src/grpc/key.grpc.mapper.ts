import { KeyView, LimitReset } from '@keyd/domain';
import { Timestamp } from './generated/google/protobuf/timestamp.pb';
import { Key as ProtoKey, LimitReset as ProtoLimitReset } from './generated/keyd/v1/keyd.pb';

export function toTimestamp(d: Date): Timestamp {
  const ms = d.getTime();
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
}

export const toProtoLimitReset = (r: LimitReset) => `LIMIT_RESET_${r.toUpperCase()}` as ProtoLimitReset;

/** Explicit field-by-field mapping, so that nothing internal reaches the wire by accident. */
export function toProtoKey(k: KeyView): ProtoKey {
  return {
    owner_id: k.ownerId,
    uuid: k.uuid,
    email: k.email,
    inbound_tag: k.inboundTag,
    status: k.status,
    subscription_end: toTimestamp(k.subscriptionEnd),
    vless_url: k.vlessUrl,
    provisioned: k.provisioned,
    flow: k.flow,
    created_at: toTimestamp(k.createdAt),
    updated_at: toTimestamp(k.updatedAt),
    used_uplink_bytes: k.usage.uplinkBytes,
    used_downlink_bytes: k.usage.downlinkBytes,
    data_limit_bytes: k.dataLimitBytes,
    data_limit_reset: toProtoLimitReset(k.limitReset),
    subscription_url: k.subscriptionUrl,
    last_traffic_at: k.usage.lastTrafficAt ? toTimestamp(k.usage.lastTrafficAt) : undefined,
    usage_period_start: toTimestamp(k.usage.periodStart),
    lifetime_uplink_bytes: k.usage.lifetimeUplinkBytes,
    lifetime_downlink_bytes: k.usage.lifetimeDownlinkBytes,
    device_limit: k.deviceLimit,
    node_group: k.nodeGroup,
    nodes: (k.nodes ?? []).map((n) => ({ name: n.name, provisioned: n.provisioned })),
    devices: [],
  };
}
