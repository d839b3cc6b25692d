import { randomUUID } from 'crypto';
import { promises as fs } from 'fs';
import * as path from 'path';
import { XrayClient } from '@keyd/xray';
import { CORE_BIN, CoreProcess, baseCoreConfig } from '../../test/support/core.harness';
import { KeydProcess, createKeyd } from '../../test/support/keyd.harness';
import { freePorts } from '../../test/support/ports.harness';
import { SeededKey, renderConfigWithClients } from './key.seeder';
import { mapLimit } from './load.runner';

export const ADMIN_TOKEN = 'bench-admin-token-not-a-secret';
export const INBOUND_TAG = 'vless-in';
export const CORE_FLAVOR: 'xray' | 'v2ray' = path.basename(CORE_BIN).includes('xray') ? 'xray' : 'v2ray';

export interface CoreFiles {
  apiPort: number;
  vlessPort: number;
  /** The inbound without users: what a core that lost its persisted clients boots from. */
  basePath: string;
  /** The file keyd keeps in sync (XRAY_CONFIG_PATH). */
  livePath: string;
}

/** A base config and a live config holding `keys`, both on the same fresh ports. */
export async function writeCoreFiles(dir: string, keys: SeededKey[] = []): Promise<CoreFiles> {
  const [apiPort, vlessPort] = await freePorts(2);
  if (apiPort === undefined || vlessPort === undefined) throw new Error('no free ports for the core');
  await fs.mkdir(dir, { recursive: true });
  const baseJson = `${JSON.stringify(baseCoreConfig({ apiPort, vlessPort, inboundTag: INBOUND_TAG }), null, 2)}\n`;
  const basePath = path.join(dir, 'core-base.json');
  const livePath = path.join(dir, 'core-live.json');
  await fs.writeFile(basePath, baseJson);
  await fs.writeFile(livePath, renderConfigWithClients(baseJson, keys, INBOUND_TAG));
  return { apiPort, vlessPort, basePath, livePath };
}

/** Starts the core from `configPath` and returns how long it took to accept connections. */
export async function startCoreTimed(files: CoreFiles, configPath: string): Promise<{ core: CoreProcess; ms: number }> {
  const core = new CoreProcess({ apiPort: files.apiPort, vlessPort: files.vlessPort, configPath });
  const t0 = Date.now();
  await core.start(configPath);
  return { core, ms: Date.now() - t0 };
}

export interface KeydSpec {
  dbPath: string;
  core: CoreProcess;
  livePath?: string;
  env?: Record<string, string>;
  readyTimeoutMs?: number;
}

/**
 * keyd as an operator runs it: the harness only pins a faster core probe,
 * which the bench puts back to the default unless a scenario asks otherwise.
 */
export async function startKeyd(spec: KeydSpec): Promise<KeydProcess> {
  const keyd = await createKeyd({
    dbPath: spec.dbPath,
    coreApiAddr: spec.core.apiAddr,
    env: {
      XRAY_CORE: CORE_FLAVOR,
      XRAY_INBOUND_TAG: INBOUND_TAG,
      KEYD_CORE_PROBE_INTERVAL_MS: '2000',
      KEYD_ADMIN_TOKEN: ADMIN_TOKEN,
      ...(spec.livePath ? { XRAY_CONFIG_PATH: spec.livePath, XRAY_BIN: CORE_BIN } : {}),
      ...spec.env,
    },
  });
  await keyd.start({ timeoutMs: spec.readyTimeoutMs ?? 60_000 });
  return keyd;
}

export function rawClient(apiAddr: string): XrayClient {
  return new XrayClient({ core: { apiAddr, flavor: CORE_FLAVOR, callTimeoutMs: 10_000 } });
}

/** A fresh user for a raw add: what keyd would push for a new key, minus keyd. */
export function rawUser(prefix: string): { email: string; uuid: string; flow: string; level: number } {
  const uuid = randomUUID();
  return { email: `${prefix}.${uuid}`, uuid, flow: '', level: 0 };
}

export interface CoreSample {
  checked: number;
  present: number;
  /** The probe's own add put these back, so they count as lost by whatever ran before it. */
  missing: number;
  errors: number;
}

/**
 * Asks the core whether it holds each key by adding it again: the core
 * answers a duplicate with "already exists", which is the only per-user
 * question V2Ray's API can answer. A missing key gets added by the probe
 * itself, so this runs only after the thing being measured has finished.
 */
export async function sampleCore(
  client: XrayClient,
  keys: Pick<SeededKey, 'uuid' | 'email'>[],
  concurrency = 16,
): Promise<CoreSample> {
  const outcomes = await mapLimit(keys, concurrency, async (k) => {
    try {
      return await client.addUser(INBOUND_TAG, { email: k.email, uuid: k.uuid, flow: '', level: 0 });
    } catch {
      return 'error' as const;
    }
  });
  return {
    checked: keys.length,
    present: outcomes.filter((o) => o === 'already_exists').length,
    missing: outcomes.filter((o) => o === 'added').length,
    errors: outcomes.filter((o) => o === 'error').length,
  };
}

/** A uniform random subset, without repeats. */
export function pickSample<T>(items: T[], count: number): T[] {
  if (count >= items.length) return items.slice();
  const copy = items.slice();
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(Math.random() * (copy.length - i));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy.slice(0, count);
}

export async function adminReconcile(keyd: KeydProcess): Promise<Record<string, unknown>> {
  const res = await fetch(`${keyd.httpUrl}/v1/reconcile`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    signal: AbortSignal.timeout(120_000),
  });
  if (res.status !== 200) throw new Error(`POST /v1/reconcile answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

/** The managed inbound's client ids in a config file on disk. */
export async function fileClientIds(configPath: string): Promise<Set<string>> {
  const parsed = JSON.parse(await fs.readFile(configPath, 'utf8')) as {
    inbounds?: { tag?: string; settings?: { clients?: { id?: string }[] } }[];
  };
  const clients = parsed.inbounds?.find((i) => i.tag === INBOUND_TAG)?.settings?.clients ?? [];
  return new Set(clients.map((c) => String(c.id)));
}

/**
 * SIGTERM first, as an operator stops keyd; at 100k keys its final config
 * write can outlast the harness's own 15 s wait, and a second keyd must never
 * open the database while the first still holds it.
 */
export async function stopKeyd(keyd: KeydProcess, graceMs = 60_000): Promise<void> {
  const until = Date.now() + graceMs;
  await keyd.kill('SIGTERM');
  while (keyd.pid !== undefined && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
  if (keyd.pid !== undefined) await keyd.kill('SIGKILL');
}
