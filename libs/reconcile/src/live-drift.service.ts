import { Inject, Injectable } from '@nestjs/common';
import { KEYD_CONFIG, KeydConfig } from '@keyd/config';
import { Key } from '@keyd/domain';
import { KeySyncService } from '@keyd/keys';
import { AppLogger, LOGGER } from '@keyd/observability';
import { KeyRepository } from '@keyd/store';
import { CoreError, XrayClient } from '@keyd/xray';
import { ReconcileReport } from './reconcile.types';

const UNKNOWN_CONCURRENCY = 32;

interface Drift {
  missing: Key[];
  extra: { email: string; key?: Key }[];
}

/** Cores that can list their users are compared both ways, including users keyd never issued. */
@Injectable()
export class LiveDrift {
  constructor(
    private readonly core: XrayClient,
    private readonly keys: KeyRepository,
    private readonly sync: KeySyncService,
    @Inject(KEYD_CONFIG) private readonly config: Pick<KeydConfig, 'core'>,
    @Inject(LOGGER) private readonly log: AppLogger,
  ) {}

  async repair(liveEmails: string[], report: ReconcileReport): Promise<void> {
    const { missing, extra } = await this.driftFrom(liveEmails);
    for (const key of missing) {
      this.log.warn(
        { event: 'drift', owner: key.ownerId, email: key.email, wrong: 'missing from core', done: 'add' },
        'drift',
      );
      const outcome = await this.sync.reapply(key.id, key.ownerId, { force: true });
      if (outcome === 'failed') report.failed++;
      else report.added++;
    }
    const unknown: string[] = [];
    for (const { email, key } of extra) {
      this.log.warn(
        {
          event: 'drift',
          owner: key?.ownerId,
          email,
          wrong: key ? `core holds a ${key.status} key` : 'unknown to the database',
          done: 'remove',
        },
        'drift',
      );
      if (key) {
        // Through the key's own bookkeeping: a removal left pending would otherwise be pushed and counted again.
        const outcome = await this.sync.reapply(key.id, key.ownerId, { force: true });
        if (outcome === 'failed') report.failed++;
        else report.removed++;
        continue;
      }
      unknown.push(email);
    }
    if (await this.adopting(unknown)) return;
    await this.removeUnknown(unknown, report);
  }

  /** Users no key accounts for have no bookkeeping to keep, so they go in parallel. */
  private async removeUnknown(emails: string[], report: ReconcileReport): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < emails.length) {
        const email = emails[next++];
        try {
          await this.core.removeUser(this.config.core.inboundTag, email);
          report.unknownRemoved++;
        } catch (e) {
          if (!(e instanceof CoreError)) throw e;
          report.failed++;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(UNKNOWN_CONCURRENCY, emails.length) }, worker));
  }

  /**
   * What repair would change, for a dry run. Pending keys are already counted,
   * and a real pass pushes each of them once, so only provisioned keys add to
   * the drift found here.
   */
  async count(liveEmails: string[], report: ReconcileReport): Promise<void> {
    const { missing, extra } = await this.driftFrom(liveEmails);
    report.added += missing.filter((k) => k.provisioned).length;
    const adopting = await this.adopting(extra.filter((e) => !e.key).map((e) => e.email));
    for (const { key } of extra) {
      if (!key) report.unknownRemoved += adopting ? 0 : 1;
      else if (key.provisioned) report.removed++;
    }
  }

  /**
   * A database without a single key has adopted nothing yet: the users the
   * core holds are the old setup's, waiting for `keyd import`, not strays.
   * They stay until the database holds a key, as the config file's do.
   */
  private async adopting(unknown: string[]): Promise<boolean> {
    if (!unknown.length || !(await this.keys.isEmpty())) return false;
    this.log.warn(
      { event: 'drift', users: unknown.length, done: 'nothing' },
      'the core holds users and the database no key: left for keyd import',
    );
    return true;
  }

  /**
   * Active keys the core lacks, and users the core holds that should not be
   * there (known or not). The active keys are walked a page at a time and
   * matched off the core's listing, so only the listing and the drift are
   * held, never every key.
   */
  private async driftFrom(liveEmails: string[]): Promise<Drift> {
    const unmatched = new Map(liveEmails.map((e) => [e.toLowerCase(), e]));
    const missing: Key[] = [];
    for (let after = 0; ;) {
      const page = await this.keys.activeKeys(after, 5000);
      if (!page.length) break;
      for (const k of page) if (!unmatched.delete(k.email.toLowerCase())) missing.push(k);
      after = page[page.length - 1].id;
    }
    const extra = [...unmatched.values()];
    const known = new Map((await this.keys.findByEmails(extra)).map((k) => [k.email.toLowerCase(), k]));
    return { missing, extra: extra.map((email) => ({ email, key: known.get(email.toLowerCase()) })) };
  }
}
