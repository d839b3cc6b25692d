import { randomFillSync, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { KEYD_CONFIG, KeydConfig } from '@keyd/config';
import { LimitReset } from '@keyd/domain';
import { CURRENT_NODE, NewKey, NodeRecord } from '@keyd/store';

const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let drawn = POOL_BYTES;

/**
 * n bytes from the system's CSPRNG, drawn from a buffer refilled 4 KiB at a
 * time (randomUUID keeps such a cache too): one system call per key and per
 * token was a twentieth of an import's time. No byte is handed out twice.
 */
function random(n: number): Buffer {
  if (drawn + n > POOL_BYTES) {
    randomFillSync(pool);
    drawn = 0;
  }
  const out = Buffer.from(pool.subarray(drawn, drawn + n));
  drawn += n;
  return out;
}

/**
 * A new key's core email: `<owner slug>.<16 random hex digits>`. The core
 * writes emails into its access log and its stats counter names, which
 * operators grep and ship, so an email never holds the UUID (the key's
 * credential). Emails must be unique (64 random bits make a clash negligible),
 * non-empty and free of the stats separator `>>>`.
 */
export function emailFor(ownerId: string): string {
  const slug = ownerId
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 32);
  return `${slug || 'key'}.${random(8).toString('hex')}`;
}

/** 192 random bits, URL-safe: a subscription URL cannot be guessed or enumerated. */
export function newSubscriptionToken(): string {
  return random(24).toString('base64url');
}

export interface KeyPlan {
  durationSeconds: number;
  dataLimitBytes: number;
  limitReset: LimitReset;
  deviceLimit: number;
  subscriptionToken: string;
  /** 'default' when unset. */
  nodeGroup?: string;
}

/** New key records for this node's managed inbound. */
@Injectable()
export class KeyFactory {
  constructor(
    @Inject(CURRENT_NODE) private readonly node: NodeRecord,
    @Inject(KEYD_CONFIG) private readonly config: Pick<KeydConfig, 'core'>,
  ) {}

  /** A key adopted from before keyd, with the UUID (and the email, when usable) it already had. */
  adoptedKey(
    ownerId: string,
    uuid: string,
    email: string,
    plan: { subscriptionEnd: Date; dataLimitBytes: number; limitReset: LimitReset; subscriptionToken: string | null },
  ): NewKey {
    return {
      ownerId,
      uuid,
      email,
      nodeId: this.node.id,
      inboundTag: this.config.core.inboundTag,
      flow: this.config.core.flow,
      subscriptionEnd: plan.subscriptionEnd,
      dataLimitBytes: plan.dataLimitBytes,
      limitReset: plan.limitReset,
      // The old setup had no device limits; an operator sets them afterwards.
      deviceLimit: 0,
      subscriptionToken: plan.subscriptionToken,
    };
  }

  newKey(ownerId: string, plan: KeyPlan, now: Date): NewKey {
    const uuid = randomUUID();
    return {
      ownerId,
      uuid,
      email: emailFor(ownerId),
      nodeId: this.node.id,
      inboundTag: this.config.core.inboundTag,
      flow: this.config.core.flow,
      subscriptionEnd: new Date(now.getTime() + plan.durationSeconds * 1000),
      dataLimitBytes: plan.dataLimitBytes,
      limitReset: plan.limitReset,
      deviceLimit: plan.deviceLimit,
      subscriptionToken: plan.subscriptionToken,
      nodeGroup: plan.nodeGroup,
    };
  }
}
