import { GrantResult, KeyPage, KeyView } from '@keyd/domain';

export interface ProtoTimestamp {
  seconds: number;
  nanos: number;
}

export function toTimestamp(d: Date): ProtoTimestamp {
  const ms = d.getTime();
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
}

/** Explicit field-by-field mapping, so that nothing internal reaches the wire by accident. */
export function toProtoKey(k: KeyView) {
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
  };
}

export const toProtoGrant = (r: GrantResult) => ({ key: toProtoKey(r.key), action: r.action });

export const toProtoPage = (p: KeyPage) => ({ keys: p.keys.map(toProtoKey), next_page_token: p.nextPageToken });
