import { Inject, Injectable } from '@nestjs/common';
import { Key } from '@keyd/domain';
import { AppLogger, LOGGER } from '@keyd/observability';
import { CoreStateRepository, KeyRepository } from '@keyd/store';
import { CoreError, XrayClient } from '@keyd/xray';
import { KEYD_CONFIG, KeydConfig } from '@keyd/config';
import { KeyPusher, PushTotals } from './key-pusher';

export type RecoveryMode = 'intact' | 'replayed' | 'full' | 'unreachable';

const PAGE = 5000;

/**
 * Brings a core whose memory may have been lost back to the database, at a
 * cost that depends on what it lost rather than on how many keys exist:
 * - the newest key the core confirmed is still there: nothing was lost;
 * - else the newest key in the persisted file is there: the core booted from
 *   that file, so only changes made after its write are replayed;
 * - else everything active is pushed again.
 * Probing is an add of a key that must be present anyway, so it is harmless.
 */
@Injectable()
export class CoreRecovery {
  constructor(
    private readonly core: XrayClient,
    private readonly keys: KeyRepository,
    private readonly coreState: CoreStateRepository,
    private readonly pusher: KeyPusher,
    @Inject(KEYD_CONFIG) private readonly config: Pick<KeydConfig, 'core'>,
    @Inject(LOGGER) private readonly log: AppLogger,
  ) {}

  async recover(reason: string): Promise<{ mode: RecoveryMode } & PushTotals> {
    const none = { added: 0, removed: 0, failed: 0 };
    try {
      const newest = await this.keys.newestApplied();
      if (!newest || (await this.holds(newest))) return { mode: 'intact', ...none };
      const file = await this.coreState.configFile();
      const snapshotSeq = await this.keys.maxChangeSeq();
      if (file.writtenSeq !== null && this.config.core.configPath) {
        const inFile = await this.keys.newestActiveAtOrBefore(file.writtenSeq);
        if (inFile && (await this.holds(inFile))) {
          const changed = await this.keys.changedSince(file.writtenSeq);
          const totals = await this.pusher.pushAll(changed, snapshotSeq);
          this.log.warn({ reason, mode: 'replayed', since_seq: file.writtenSeq, ...totals }, 'core recovered from its config file');
          return { mode: 'replayed', ...totals };
        }
      }
      const totals = await this.pushAllActive(snapshotSeq);
      this.log.warn({ reason, mode: 'full', ...totals }, 'core recovered by pushing every active key');
      return { mode: 'full', ...totals };
    } catch (e) {
      if (e instanceof CoreError && e.transient) return { mode: 'unreachable', ...none, failed: 1 };
      throw e;
    }
  }

  private async holds(key: Key): Promise<boolean> {
    const outcome = await this.core.addUser(key.inboundTag, {
      email: key.email,
      uuid: key.uuid,
      flow: key.flow,
      level: this.config.core.userLevel,
    });
    return outcome === 'already_exists';
  }

  private async pushAllActive(snapshotSeq: number): Promise<PushTotals> {
    const totals: PushTotals = { added: 0, removed: 0, failed: 0 };
    for (let after = 0; ; ) {
      const page = await this.keys.activeKeys(after, PAGE);
      if (!page.length) break;
      const t = await this.pusher.pushAll(page, snapshotSeq);
      totals.added += t.added;
      totals.removed += t.removed;
      totals.failed += t.failed;
      after = page[page.length - 1].id;
    }
    return totals;
  }
}
