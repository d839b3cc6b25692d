import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { KEYD_CONFIG, KeydConfig } from '@keyd/config';
import { CLOCK, Clock, GrantAction, GrantResult, Key, KeyPage, KeyView, NotFoundError } from '@keyd/domain';
import { LOGGER, AppLogger } from '@keyd/observability';
import { CURRENT_NODE, KeyRepository, NodeRecord } from '@keyd/store';
import { KeyEvents } from './key.events';
import { KeyLinkBuilder } from './key-link.builder';
import { KeySyncService } from './key-sync.service';
import * as input from './key-input.validation';
import { OwnerLocks } from './owner-locks';

export interface GrantCommand {
  ownerId: unknown;
  durationSeconds: unknown;
  requestId?: unknown;
}

export interface ListCommand {
  status?: unknown;
  pageSize?: unknown;
  pageToken?: unknown;
}

/** Core emails must be unique, non-empty and free of the stats separator `>>>`. */
export function emailFor(ownerId: string, uuid: string): string {
  const slug = ownerId
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 32);
  return `${slug || 'key'}.${uuid}`;
}

@Injectable()
export class KeysService {
  constructor(
    private readonly keys: KeyRepository,
    private readonly sync: KeySyncService,
    private readonly locks: OwnerLocks,
    private readonly links: KeyLinkBuilder,
    private readonly events: KeyEvents,
    @Inject(CURRENT_NODE) private readonly node: NodeRecord,
    @Inject(KEYD_CONFIG) private readonly config: Pick<KeydConfig, 'core'>,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) private readonly log: AppLogger,
  ) {}

  async grant(cmd: GrantCommand): Promise<GrantResult> {
    const ownerId = input.ownerId(cmd.ownerId);
    const duration = input.durationSeconds(cmd.durationSeconds);
    const requestId = input.requestId(cmd.requestId);
    return this.locks.run(ownerId, async () => {
      const now = this.clock.now();
      const { key, action, replaced, replayed } = await this.keys.write(async (tx) => {
        if (requestId) {
          const seen = await tx.findRequest(requestId);
          if (seen) {
            if (seen.ownerId !== ownerId || seen.durationSeconds !== duration) throw new input.RequestIdReusedError();
            return { key: await tx.getKey(seen.keyId), action: seen.action, replayed: true };
          }
        }
        const active = await tx.findActiveByOwner(ownerId);
        let result: { key: Key; action: GrantAction; replaced?: Key };
        if (active && active.subscriptionEnd > now) {
          const end = new Date(active.subscriptionEnd.getTime() + duration * 1000);
          result = { key: await tx.setSubscriptionEnd(active.id, end, now), action: 'RENEWED' };
        } else {
          // An active key past its end is expired even if the expiry timer has not run yet.
          const replaced = active ? await tx.setStatus(active.id, 'EXPIRED', now) : undefined;
          const uuid = randomUUID();
          const key = await tx.insertKey(
            {
              ownerId,
              uuid,
              email: emailFor(ownerId, uuid),
              nodeId: this.node.id,
              inboundTag: this.config.core.inboundTag,
              flow: this.config.core.flow,
              subscriptionEnd: new Date(now.getTime() + duration * 1000),
            },
            now,
          );
          result = { key, action: 'ISSUED', replaced };
        }
        if (requestId)
          await tx.insertRequest(
            { requestId, ownerId, durationSeconds: duration, keyId: result.key.id, action: result.action },
            now,
          );
        return { ...result, replayed: false };
      });

      if (replaced) await this.sync.applyLocked(replaced);
      let current = key;
      if (!key.provisioned && key.status === 'ACTIVE') {
        const outcome = await this.sync.applyLocked(key);
        current = { ...key, provisioned: outcome === 'applied' };
      }
      this.events.emit('granted', { action, provisioned: current.provisioned, replayed });
      if (!replayed) {
        if (action === 'ISSUED') this.events.emit('changed', { subscriptionEnd: key.subscriptionEnd });
        else this.events.emit('extended', { subscriptionEnd: key.subscriptionEnd });
      }
      this.log.info(
        {
          event: 'grant',
          owner: ownerId,
          uuid: key.uuid,
          email: key.email,
          inbound: key.inboundTag,
          action,
          subscription_end: key.subscriptionEnd.toISOString(),
          duration_seconds: duration,
          request_id: requestId,
          replayed,
          provisioned: current.provisioned,
        },
        'grant',
      );
      return { key: this.view(current), action };
    });
  }

  async revoke(ownerIdValue: unknown): Promise<KeyView> {
    const ownerId = input.ownerId(ownerIdValue);
    return this.locks.run(ownerId, async () => {
      const now = this.clock.now();
      const revoked = await this.keys.write(async (tx) => {
        const active = await tx.findActiveByOwner(ownerId);
        return active ? tx.setStatus(active.id, 'REVOKED', now) : null;
      });
      if (!revoked) {
        // Revoking twice is not an error: the owner simply has nothing active.
        return this.view(await this.current(ownerId));
      }
      const outcome = await this.sync.applyLocked(revoked);
      this.events.emit('changed', {});
      this.log.info(
        {
          event: 'revoke',
          owner: ownerId,
          uuid: revoked.uuid,
          email: revoked.email,
          inbound: revoked.inboundTag,
          provisioned: outcome === 'applied',
        },
        'revoke',
      );
      return this.view({ ...revoked, provisioned: outcome === 'applied' });
    });
  }

  async get(ownerIdValue: unknown): Promise<KeyView> {
    return this.view(await this.current(input.ownerId(ownerIdValue)));
  }

  async list(cmd: ListCommand): Promise<KeyPage> {
    const status = input.keyStatus(cmd.status);
    const limit = input.pageSize(cmd.pageSize);
    const afterId = input.pageToken(cmd.pageToken);
    const rows = await this.keys.list({ status, afterId, limit: limit + 1 });
    const page = rows.slice(0, limit);
    return {
      keys: page.map((k) => this.view(k)),
      nextPageToken: rows.length > limit ? input.encodePageToken(page[page.length - 1].id) : '',
    };
  }

  private async current(ownerId: string): Promise<Key> {
    const key = await this.keys.findCurrentByOwner(ownerId);
    if (!key) throw new NotFoundError(`no key for owner_id ${JSON.stringify(ownerId)}`);
    return key;
  }

  private view(key: Key): KeyView {
    return { ...key, vlessUrl: this.links.vlessUrl(key) };
  }
}
