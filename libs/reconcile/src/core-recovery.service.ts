import { Inject, Injectable } from '@nestjs/common';
import { Key } from '@keyd/domain';
import { AppLogger, LOGGER } from '@keyd/observability';
import { CoreStateRepository, KeyRepository } from '@keyd/store';
import { CoreError } from '@keyd/xray';
import { KeySyncService } from '@keyd/keys';
import { KEYD_CONFIG, KeydConfig } from '@keyd/config';
import { KeyPusher, PushTotals } from './key.pusher';

export type RecoveryMode = 'intact' | 'replayed' | 'full' | 'unreachable';

const PAGE = 5000;

/**
 * Brings a core whose memory may have been lost back to the database, at a
 * cost that depends on what it lost rather than on how many keys exist:
 * - the newest key the core confirmed is still there: nothing was lost;
 * - else the newest key in the persisted file is there: the core booted from
 *   that file, so only changes made after its write are replayed;
 * - else everything active is pushed again.
 * Whatever the probes find, every key that stopped being active after the
 * file's recorded write is removed again: a core that booted from that file
 * holds them, and a probe of an older key cannot tell. Removals are
 * idempotent, and there are only as many as the file lags behind.
 */
@Injectable()
export class CoreRecovery {
  constructor(
    private readonly sync: KeySyncService,
    private readonly keys: KeyRepository,
    private readonly coreState: CoreStateRepository,
    private readonly pusher: KeyPusher,
    @Inject(KEYD_CONFIG) private readonly config: Pick<KeydConfig, 'core'>,
    @Inject(LOGGER) private readonly log: AppLogger,
  ) {}

  async recover(reason: string): Promise<{ mode: RecoveryMode } & PushTotals> {
    const probed: PushTotals = { added: 0, removed: 0, failed: 0 };
    try {
      const written = this.config.core.configPath ? (await this.coreState.configFile()).writtenSeq : null;
      const newest = await this.keys.newestApplied();
      if (!newest || (await this.holds(newest, probed))) {
        const totals = sum(probed, await this.removeSince(written));
        if (totals.removed)
          this.log.warn(
            { reason, mode: 'intact', since_seq: written, ...totals },
            'core held keys its config file brought back',
          );
        return { mode: 'intact', ...totals };
      }
      const snapshotSeq = await this.keys.maxChangeSeq();
      // A key the file holds must be present if the core booted from it; the
      // newest key was just re-added by its probe, so only an older one can tell.
      if (written !== null && newest.changeSeq > written) {
        const inFile = await this.keys.newestActiveAtOrBefore(written);
        if (inFile && (await this.holds(inFile, probed))) {
          const totals = sum(probed, await this.pusher.pushAll(await this.keys.changedSince(written), snapshotSeq));
          this.log.warn(
            { reason, mode: 'replayed', since_seq: written, ...totals },
            'core recovered from its config file',
          );
          return { mode: 'replayed', ...totals };
        }
      }
      const totals = sum(sum(probed, await this.pushAllActive()), await this.removeSince(written));
      this.log.warn({ reason, mode: 'full', ...totals }, 'core recovered by pushing every active key');
      return { mode: 'full', ...totals };
    } catch (e) {
      if (e instanceof CoreError && e.transient) return { mode: 'unreachable', ...probed, failed: probed.failed + 1 };
      throw e;
    }
  }

  /** What a full re-push would add, for a dry run. */
  async countFullPush(): Promise<number> {
    return (await this.keys.countByStatus()).ACTIVE;
  }

  /** Probes by adding: a key that must be present anyway is either found or put back. */
  private async holds(key: Key, totals: PushTotals): Promise<boolean> {
    const outcome = await this.sync.push(key);
    if (outcome === 'added') totals.added++;
    return outcome === 'already_exists';
  }

  /** Keys that left the active set after the file's write; nothing when keyd never wrote the file. */
  private async removeSince(written: number | null): Promise<PushTotals> {
    if (written === null) return { added: 0, removed: 0, failed: 0 };
    const snapshotSeq = await this.keys.maxChangeSeq();
    const gone = (await this.keys.changedSince(written)).filter((k) => k.status !== 'ACTIVE');
    return this.pusher.pushAll(gone, snapshotSeq);
  }

  private async pushAllActive(): Promise<PushTotals> {
    let totals: PushTotals = { added: 0, removed: 0, failed: 0 };
    for (let after = 0; ;) {
      // Each page is current as of the sequence read just before it: only later changes can race its push.
      const snapshotSeq = await this.keys.maxChangeSeq();
      const page = await this.keys.activeKeys(after, PAGE);
      if (!page.length) return totals;
      totals = sum(totals, await this.pusher.pushAll(page, snapshotSeq));
      after = page[page.length - 1].id;
    }
  }
}

function sum(a: PushTotals, b: PushTotals): PushTotals {
  return { added: a.added + b.added, removed: a.removed + b.removed, failed: a.failed + b.failed };
}
