import { promises as fs } from 'fs';
import * as path from 'path';
import { XrayClient } from '@keyd/xray';
import { CoreProcess } from '../../test/support/core.harness';
import { GrantResponse, KeydClient, KeydProcess, eventually } from '../../test/support/keyd.harness';
import {
  CoreFiles,
  CoreSample,
  INBOUND_TAG,
  fileClientIds,
  rawClient,
  rawUser,
  sampleCore,
  startCoreTimed,
  startKeyd,
  writeCoreFiles,
} from './bench.stack';
import { CoreUptimeWatcher, UptimeReport } from './core-uptime.watcher';
import { SeededKey } from './key.seeder';
import { LoadResult, runClosedLoop } from './load.runner';
import { CORE_CALLS, scrape } from './prometheus.scraper';

const GRANT_SECONDS = 30 * 86_400;
/** A stuck segment ends here instead of eating the run's time budget. */
const SEGMENT_DEADLINE_MS = 300_000;

export interface IssuedKey {
  uuid: string;
  email: string;
  provisioned: boolean;
}

export interface KeydVerification {
  /** Grants keyd acknowledged. */
  acknowledged: number;
  /** Every acknowledged key, asked of the core by duplicate add once everything else is measured. */
  core: CoreSample;
  /** Acknowledged keys absent from the config file once keyd's coalesced write has landed. */
  missingFromFile: number;
  /** Acknowledged keys missing from the core or from the file. */
  lost: number;
  fileSettledMs: number | null;
  restartsDetectedByKeyd: number;
  uptime: UptimeReport;
  corePidUnchanged: boolean;
  /** Restarts as the bench sees them: uptime going backwards, or another pid. */
  coreRestarts: number;
  coreCalls: Record<string, number>;
}

export interface GrantStackOptions {
  keydEnv?: Record<string, string>;
  /** Keys the core boots with and the database already holds. */
  seeded?: { dbPath: string; keys: SeededKey[] };
  readyTimeoutMs?: number;
}

/** A fresh core with a live config file, keyd managing it, and a raw client on the same core. */
export class GrantStack {
  private readonly pidAtStart: number | undefined;
  private watcher: CoreUptimeWatcher | undefined;

  private constructor(
    readonly files: CoreFiles,
    readonly core: CoreProcess,
    readonly keyd: KeydProcess,
    readonly api: KeydClient,
    readonly raw: XrayClient,
    readonly keydReadyMs: number,
  ) {
    this.pidAtStart = core.pid;
  }

  static async start(dir: string, opts: GrantStackOptions = {}): Promise<GrantStack> {
    const files = await writeCoreFiles(dir, opts.seeded?.keys ?? []);
    const { core } = await startCoreTimed(files, files.livePath);
    const dbPath = path.join(dir, 'keyd.sqlite');
    if (opts.seeded) await fs.copyFile(opts.seeded.dbPath, dbPath);
    const t0 = Date.now();
    const keyd = await startKeyd({
      dbPath,
      core,
      livePath: files.livePath,
      env: opts.keydEnv,
      readyTimeoutMs: opts.readyTimeoutMs,
    });
    return new GrantStack(files, core, keyd, keyd.client(), rawClient(core.apiAddr), Date.now() - t0);
  }

  /** Watches the core's uptime from now until verify(). */
  watchCore(): void {
    this.watcher ??= new CoreUptimeWatcher(this.raw);
    this.watcher.start();
  }

  grants(count: number, concurrency: number, prefix: string): Promise<LoadResult<IssuedKey>> {
    return runClosedLoop({
      count,
      concurrency,
      deadlineMs: SEGMENT_DEADLINE_MS,
      op: async (i) => {
        const res: GrantResponse = await this.api.grant(`${prefix}-${i}`, GRANT_SECONDS);
        if (res.action !== 'ISSUED') throw new Error(`expected ISSUED for a new owner, got ${res.action}`);
        return { uuid: res.key.uuid, email: res.key.email, provisioned: res.key.provisioned };
      },
    });
  }

  /** The ceiling: the same add keyd makes per grant, straight to the core. */
  rawAdds(count: number, concurrency: number, prefix: string): Promise<LoadResult<string>> {
    return runClosedLoop({
      count,
      concurrency,
      deadlineMs: SEGMENT_DEADLINE_MS,
      op: (i) => this.raw.addUser(INBOUND_TAG, rawUser(`${prefix}-${i}`)),
    });
  }

  /** Proves "zero lost, zero restarts" for keyd instead of assuming it. */
  async verify(issued: IssuedKey[]): Promise<KeydVerification> {
    const uptime = this.watcher
      ? await this.watcher.stop()
      : { samples: 0, failedSamples: 0, wentBackwards: 0, firstSeconds: null, lastSeconds: null };
    const metrics = await scrape(this.keyd.httpUrl);
    const t0 = Date.now();
    let missing = new Set(issued.map((k) => k.uuid));
    const settled = await eventually(
      async () => {
        const ids = await fileClientIds(this.files.livePath).catch(() => new Set<string>());
        missing = new Set(issued.filter((k) => !ids.has(k.uuid)).map((k) => k.uuid));
        return missing.size === 0;
      },
      30_000,
      250,
    );
    const fileSettledMs = settled ? Date.now() - t0 : null;
    // Last, because a missing key is put back by the probe's own add.
    const core = await sampleCore(this.raw, issued, 16);
    const corePidUnchanged = this.core.pid !== undefined && this.core.pid === this.pidAtStart;
    return {
      acknowledged: issued.length,
      core,
      missingFromFile: missing.size,
      lost: Math.max(core.missing + core.errors, missing.size),
      fileSettledMs,
      restartsDetectedByKeyd: metrics.sum('keyd_core_restarts_detected_total'),
      uptime,
      corePidUnchanged,
      coreRestarts: uptime.wentBackwards + (corePidUnchanged ? 0 : 1),
      coreCalls: metrics.byLabel(CORE_CALLS, 'operation'),
    };
  }

  async stop(): Promise<void> {
    this.api.close();
    this.raw.close();
    await this.keyd.kill('SIGTERM');
    await this.core.stop();
  }
}
