import { execFile } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { promises as fs } from 'node:fs';
import { promisify } from 'node:util';
import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { KEYD_CONFIG, KeydConfig } from '@keyd/config';
import { Key } from '@keyd/domain';
import { AppLogger, LOGGER } from '@keyd/observability';
import { CoreStateRepository, KeyRepository } from '@keyd/store';
import { install, writeAtomic, writeTemp } from './atomic-file';

const run = promisify(execFile);
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 60_000;

export interface ConfigFileStatus {
  path: string | null;
  lastWriteAt: Date | null;
  writtenSeq: number | null;
  writes: number;
  failures: number;
  lastError: string | null;
}

interface CoreConfigFile {
  inbounds?: { tag?: string; settings?: { clients?: unknown[] } }[];
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
export class ConfigFileWriter extends EventEmitter<{ write: [ConfigWriteResult] }> implements OnModuleDestroy {
  private timer?: NodeJS.Timeout;
  private lastWriteStarted = 0;
  private running: Promise<void> | null = null;
  private again = false;
  private rejectedOnce = false;
  private retryMs = RETRY_MIN_MS;
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
    const { seq, keys } = await this.keys.activeSnapshot();
    const current = await fs.readFile(path, 'utf8');
    const next = await this.render(current, keys);
    if (next !== current) {
      const temp = await writeTemp(path, next);
      await this.check(temp, path);
      await install(temp, path);
      await writeAtomic(`${path}.last-good`, next);
      this.state.writes++;
      this.log.info({ path, active_keys: keys.length, change_seq: seq }, 'core config file written');
    }
    this.emit('write', next !== current ? 'written' : 'unchanged');
    await this.coreState.recordConfigWrite(seq, new Date());
    this.state.lastWriteAt = new Date();
    this.state.writtenSeq = seq;
    this.state.lastError = null;
    this.retryMs = RETRY_MIN_MS;
  }

  private async render(current: string, keys: Key[]): Promise<string> {
    let parsed: CoreConfigFile;
    try {
      parsed = JSON.parse(current) as CoreConfigFile;
    } catch (e) {
      throw new Error(`the file is not valid JSON, so it is left alone: ${(e as Error).message}`);
    }
    const tag = this.config.core.inboundTag;
    const inbound = parsed.inbounds?.find((i) => i.tag === tag);
    if (!inbound) throw new Error(`no inbound tagged "${tag}" in the file`);
    inbound.settings ??= {};
    const foreign = await this.foreignClients(inbound.settings.clients ?? [], keys);
    inbound.settings.clients = [
      ...keys.map((k) => ({
        id: k.uuid,
        email: k.email,
        flow: k.flow,
        level: this.config.core.userLevel,
      })),
      ...foreign,
    ];
    return `${JSON.stringify(parsed, null, 2)}\n`;
  }

  /**
   * Clients whose UUID is no key of keyd's, in any status, stay as the
   * operator wrote them: keyd removes only what it manages. So a keyd started
   * on an existing config never empties it before `keyd import` has adopted
   * its clients, and orphans the import leaves out keep working.
   */
  private async foreignClients(clients: unknown[], keys: Key[]): Promise<unknown[]> {
    const active = new Set(keys.map((k) => k.uuid.toLowerCase()));
    const idOf = (c: unknown) => {
      const id = (c as { id?: unknown } | null)?.id;
      return typeof id === 'string' ? id.toLowerCase() : '';
    };
    const others = clients.filter((c) => !active.has(idOf(c)));
    if (!others.length) return [];
    const known = await this.keys.knownUuids(others.map(idOf));
    return others.filter((c) => idOf(c) !== '' && !known.has(idOf(c)));
  }

  /** Runs the core's test mode on the candidate; a failing file is kept aside and never installed. */
  private async check(temp: string, path: string): Promise<void> {
    const bin = this.config.core.bin;
    if (!bin) return;
    const args = this.config.core.flavor === 'xray' ? ['run', '-test', '-c', temp] : ['-test', '-config', temp];
    try {
      await run(bin, args, { timeout: 30_000 });
    } catch (e) {
      const rejected = `${path}.rejected`;
      this.rejectedOnce = true;
      await fs.rename(temp, rejected).catch(() => undefined);
      const detail = (e as { stderr?: string; stdout?: string }).stdout || (e as Error).message;
      throw new Error(`the core rejected the new file (kept as ${rejected}): ${String(detail).trim().slice(-500)}`);
    }
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
