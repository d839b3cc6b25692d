import { Inject, Injectable } from '@nestjs/common';
import { z } from 'zod/v4';
import { CLOCK, Clock, GrantAction, GrantResult, Key } from '@keyd/domain';
import { KeyRepository, KeyWriter } from '@keyd/store';
import { GrantRecorder } from './grant.recorder';
import { KeyFactory, newSubscriptionToken } from './key.factory';
import { KeySyncService } from './key-sync.service';
import * as input from './key-input.validation';

export interface GrantCommand {
  ownerId: unknown;
  durationSeconds: unknown;
  requestId?: unknown;
  dataLimitBytes?: unknown;
  limitReset?: unknown;
  deviceLimit?: unknown;
  /** The group whose nodes hold a newly issued key; a renewal keeps the key's group. */
  nodeGroup?: unknown;
}

type Grant = z.output<typeof input.grantSchema>;

interface Decision {
  key: Key;
  action: GrantAction;
  replaced?: Key;
  replayed: boolean;
  /** A renewal that brought a suspended key back into the core. */
  reactivated?: boolean;
}

/**
 * GrantAccess: issue a key when the owner has none live, renew it otherwise.
 * The database commits first; the core is called after, and a failed call
 * leaves the key pending for reconciliation instead of failing the grant.
 */
@Injectable()
export class GrantService {
  constructor(
    private readonly keys: KeyRepository,
    private readonly sync: KeySyncService,
    private readonly factory: KeyFactory,
    private readonly recorder: GrantRecorder,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async grant(cmd: GrantCommand): Promise<GrantResult> {
    const g = input.parseCommand(input.grantSchema, {
      owner_id: cmd.ownerId,
      duration_seconds: cmd.durationSeconds,
      request_id: cmd.requestId,
      data_limit_bytes: cmd.dataLimitBytes,
      data_limit_reset: cmd.limitReset,
      device_limit: cmd.deviceLimit,
      node_group: cmd.nodeGroup,
    });
    return this.sync.exclusive(g.owner_id, async () => {
      const now = this.clock.now();
      const d = await this.keys.write((tx) => this.decide(tx, g, now));
      if (d.replaced) await this.sync.applyLocked(d.replaced);
      let current = d.key;
      // A renewal of a provisioned key needs no core call; an issue or a reactivation does.
      if (!d.key.provisioned && d.key.status === 'ACTIVE') {
        const outcome = await this.sync.applyLocked(d.key);
        current = { ...d.key, provisioned: outcome === 'applied' };
      }
      this.recorder.granted({ ...d, key: current, durationSeconds: g.duration_seconds, requestId: g.request_id });
      return { key: current, action: d.action };
    });
  }

  private async decide(tx: KeyWriter, g: Grant, now: Date): Promise<Decision> {
    if (g.request_id) {
      const seen = await tx.findRequest(g.request_id);
      if (seen) {
        const same =
          seen.ownerId === g.owner_id &&
          seen.durationSeconds === g.duration_seconds &&
          seen.dataLimitBytes === (g.data_limit_bytes ?? null) &&
          seen.limitReset === (g.data_limit_reset ?? null) &&
          seen.deviceLimit === (g.device_limit ?? null);
        if (!same) throw new input.RequestIdReusedError();
        return { key: await tx.getKey(seen.keyId), action: seen.action, replayed: true };
      }
    }
    const d = await this.renewOrIssue(tx, g, now);
    if (g.request_id)
      await tx.insertRequest(
        {
          requestId: g.request_id,
          ownerId: g.owner_id,
          durationSeconds: g.duration_seconds,
          dataLimitBytes: g.data_limit_bytes ?? null,
          limitReset: g.data_limit_reset ?? null,
          deviceLimit: g.device_limit ?? null,
          keyId: d.key.id,
          action: d.action,
        },
        now,
      );
    return d;
  }

  private async renewOrIssue(tx: KeyWriter, g: Grant, now: Date): Promise<Decision> {
    // A live key is always the owner's newest: a new one is issued only when none is live.
    const latest = await tx.findLatestByOwner(g.owner_id);
    const live = latest && (latest.status === 'ACTIVE' || latest.status === 'SUSPENDED') ? latest : null;
    if (live && live.subscriptionEnd > now) {
      // A renewal opens a new usage period, so a key suspended for data comes back with the same UUID.
      const key = await tx.update(
        live.id,
        {
          subscriptionEnd: new Date(live.subscriptionEnd.getTime() + g.duration_seconds * 1000),
          resetUsage: true,
          dataLimitBytes: g.data_limit_bytes,
          limitReset: g.data_limit_reset,
          deviceLimit: g.device_limit,
          status: live.status === 'SUSPENDED' ? 'ACTIVE' : undefined,
        },
        now,
      );
      return { key, action: 'RENEWED', replayed: false, reactivated: live.status === 'SUSPENDED' };
    }
    // A live key past its end is expired even if the expiry timer has not run yet.
    const replaced = live ? await tx.update(live.id, { status: 'EXPIRED' }, now) : undefined;
    const previous = replaced ?? latest;
    // After an expiry the owner keeps its subscription URL and plan; after a revocation it starts afresh.
    const inherit = previous && previous.status === 'EXPIRED' ? previous : null;
    const token = inherit?.subscriptionToken ?? newSubscriptionToken();
    if (inherit?.subscriptionToken) await tx.update(inherit.id, { subscriptionToken: null }, now);
    const key = await tx.insertKey(
      this.factory.newKey(
        g.owner_id,
        {
          durationSeconds: g.duration_seconds,
          dataLimitBytes: g.data_limit_bytes ?? inherit?.dataLimitBytes ?? 0,
          limitReset: g.data_limit_reset ?? inherit?.limitReset ?? 'none',
          deviceLimit: g.device_limit ?? inherit?.deviceLimit ?? 0,
          subscriptionToken: token,
          nodeGroup: g.node_group ?? inherit?.nodeGroup,
        },
        now,
      ),
      now,
    );
    return { key, action: 'ISSUED', replaced, replayed: false };
  }
}
