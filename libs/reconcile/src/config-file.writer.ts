import { EventEmitter } from 'node:events';
import { promises as fs, Stats } from 'node:fs';
import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { KEYD_CONFIG, KeydConfig } from '@keyd/config';
import { AppLogger, LOGGER } from '@keyd/observability';
import { CoreStateRepository, KeyRepository } from '@keyd/store';
import { copyPrivately, install, removeStaleTemps, writeTemp } from './atomic-file.writer';
import { digestOf, renderConfig } from './client-list.renderer';
import { ConfigLayout, ForeignClient, readConfigLayout } from './config-layout.reader';
import { checkCoreConfig } from './core-config.checker';

const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 60_000;
/** The core parses every client in test mode: seconds at 100k keys, far more on a loaded machine. */
const CHECK_TIMEOUT_MS = 120_000;

/** Which file is on disk: an edit or a replacement changes at least one of these. */
interface FileStamp {
  ino: number;
  size: number;
  mtimeMs: number;
}

/** What this writer last left in the file; the layout is null until read, after a restart. */
interface WrittenFile {
  layout: ConfigLayout | null;
  seq: number;
  stamp: FileStamp;
}

const stampOf = (s: Stats): FileStamp => ({ ino: s.ino, size: s.size, mtimeMs: s.mtimeMs });
const sameStamp = (a: FileStamp, b: FileStamp) => a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;

export interface ConfigFileStatus {
  path: string | null;
  lastWriteAt: Date | null;
  writtenSeq: number | null;
  writes: number;
  failures: number;
  lastError: string | null;
}

/**
 * Keeps the managed inbound's clients in the core's config file equal to the
 * active keys, so a core that restarts boots with them. Everything else in the
 * file is left as the operator wrote it. Writes are atomic, skipped when
 * nothing would change, coalesced to one per window, and checked with the
 * core's own test mode first when its binary is configured.
 */
export type ConfigWriteResult = 'written' | 'unchanged' | 'failed' | 'rejected';

@Injectable()
export class ConfigFileWriter
  extends EventEmitter<{ write: [ConfigWriteResult] }>
  implements OnModuleInit, OnModuleDestroy
{
  private timer?: NodeJS.Timeout;
  private lastWriteStarted = 0;
  private running: Promise<void> | null = null;
  private again = false;
  private rejectedOnce = false;
  private retryMs = RETRY_MIN_MS;
  private written: WrittenFile | null = null;
  private readonly state: ConfigFileStatus;

  constructor(
    private readonly keys: KeyRepository,
    private readonly coreState: CoreStateRepository,
    @Inject(KEYD_CONFIG) private readonly config: Pick<KeydConfig, 'core'>,
    @Inject(LOGGER) private readonly log: AppLogger,
  ) {
    super();
    this.state = {
      path: config.core.configPath ?? null,
      lastWriteAt: null,
      writtenSeq: null,
      writes: 0,
      failures: 0,
      lastError: null,
    };
  }

  get enabled(): boolean {
    return this.state.path !== null;
  }

  status(): ConfigFileStatus {
    return { ...this.state };
  }

  async onModuleInit(): Promise<void> {
    if (!this.state.path) return;
    const removed = await removeStaleTemps(this.state.path);
    if (removed) this.log.warn({ path: this.state.path, removed }, 'removed temp files an earlier run left');
  }

  onModuleDestroy(): void {
    clearTimeout(this.timer);
  }

  /** Asks for a write; bursts of requests collapse into one write per window. */
  request(): void {
    if (!this.enabled || this.timer) return;
    const wait = Math.max(0, this.lastWriteStarted + this.config.core.configWriteWindowMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush().catch((e: unknown) => this.fail(e));
    }, wait);
    this.timer.unref();
  }

  /** Writes now if the content would change; resolves when the file is current. */
  async flush(): Promise<void> {
    if (!this.enabled) return;
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        this.lastWriteStarted = Date.now();
        await this.writeOnce().catch((e: unknown) => this.fail(e));
      } while (this.again);
    })().finally(() => (this.running = null));
    return this.running;
  }

  private async writeOnce(): Promise<void> {
    const path = this.state.path as string;
    const ours = await this.recognised(path);
    const level = this.config.core.userLevel;
    const counted = { clients: 0 };
    const { seq, temp, layout } = await this.keys.readActive(async (snapshot) => {
      // The file this writer left, and no change since: nothing to read or render.
      if (ours && snapshot.seq === ours.seq) return { seq: snapshot.seq, temp: null, layout: ours.layout };
      const read = ours?.layout ?? (await readConfigLayout(path, this.config.core.inboundTag, this.foreignFilter));
      const layout = { ...read, foreign: await this.stillForeign(read.foreign) };
      // Any other file may already say what it would be rewritten to, as after a restart on an edited file.
      if (!ours && (await digestOf(renderConfig(layout, snapshot, level))) === layout.digest)
        return { seq: snapshot.seq, temp: null, layout };
      return {
        seq: snapshot.seq,
        temp: await writeTemp(path, renderConfig(layout, snapshot, level, counted)),
        layout,
      };
    });
    if (temp) {
      await this.check(temp, path);
      await install(temp, path);
      await this.keepLastGood(path);
      this.state.writes++;
      this.log.info({ path, active_keys: counted.clients, change_seq: seq }, 'core config file written');
    }
    const stamp = stampOf(await fs.stat(path));
    this.written = { layout, seq, stamp };
    this.emit('write', temp ? 'written' : 'unchanged');
    await this.coreState.recordConfigWrite(seq, new Date(), JSON.stringify(stamp));
    this.state.lastWriteAt = new Date();
    this.state.writtenSeq = seq;
    this.state.lastError = null;
    this.retryMs = RETRY_MIN_MS;
  }

  /**
   * The file as this writer last left it, when it still is: same inode, size
   * and mtime. Its layout is kept in memory once read; after a restart only
   * the stamp recorded with the last write is known, which is enough to tell
   * that nothing changed without reading the file.
   */
  private async recognised(path: string): Promise<WrittenFile | null> {
    const stamp = stampOf(await fs.stat(path));
    if (!this.written) {
      const state = await this.coreState.configFile();
      if (state.stamp && state.writtenSeq !== null)
        this.written = { layout: null, seq: state.writtenSeq, stamp: JSON.parse(state.stamp) as FileStamp };
    }
    return this.written && sameStamp(this.written.stamp, stamp) ? this.written : null;
  }

  private readonly foreignFilter = (clients: ForeignClient[]) => this.stillForeign(clients);

  /**
   * Clients whose UUID is no key of keyd's, in any status, stay as the
   * operator wrote them: keyd removes only what it manages. So a keyd started
   * on an existing config never empties it before `keyd import` has adopted
   * its clients, and orphans the import leaves out keep working. Checked again
   * on every write, since an import may adopt them at any time.
   */
  private async stillForeign(clients: ForeignClient[]): Promise<ForeignClient[]> {
    if (!clients.length) return clients;
    const known = await this.keys.knownUuids(clients.map((c) => c.id.toLowerCase()));
    return clients.filter((c) => !known.has(c.id.toLowerCase()));
  }

  /** A copy of the file as last installed, for the operator; private, as it holds every UUID. */
  private async keepLastGood(path: string): Promise<void> {
    await copyPrivately(path, `${path}.last-good`);
  }

  /**
   * Runs the core's test mode on the candidate. A file the core rejects is kept
   * aside and never installed; a check that gave no verdict (timed out, killed,
   * could not start) says nothing about the file, so it is dropped and the
   * write is tried again like any other failure.
   */
  private async check(temp: string, path: string): Promise<void> {
    const bin = this.config.core.bin;
    if (!bin) return;
    const outcome = await checkCoreConfig(
      bin,
      this.config.core.flavor,
      temp,
      CHECK_TIMEOUT_MS,
      this.config.core.binEnv,
    );
    if (outcome.kind === 'accepted') return;
    if (outcome.kind === 'inconclusive') {
      await fs.unlink(temp).catch(() => undefined);
      throw new Error(`the core's check of the new file gave no verdict, so it was not installed: ${outcome.reason}`);
    }
    const rejected = `${path}.rejected`;
    this.rejectedOnce = true;
    await fs.rename(temp, rejected).catch(() => undefined);
    throw new Error(
      `the core rejected the new file (kept as ${rejected}), exit code ${outcome.code}: ${outcome.output.slice(-500)}`,
    );
  }

  private fail(e: unknown): void {
    // Retried on its own, backing off: a full disk or a read-only mount may clear without any key changing.
    setTimeout(() => this.request(), this.retryMs).unref();
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
    this.emit('write', this.rejectedOnce ? 'rejected' : 'failed');
    this.rejectedOnce = false;
    this.state.failures++;
    this.state.lastError = e instanceof Error ? e.message : String(e);
    this.log.error({ path: this.state.path, err: this.state.lastError }, 'core config file not written');
  }
}
