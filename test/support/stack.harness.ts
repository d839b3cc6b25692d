import { copyFileSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { CoreProcess, startCore } from './core.harness';
import { createKeyd, KeydClient, KeydProcess } from './keyd.harness';
import { stopAll } from './processes.harness';
import { HttpTarget, startHttpTarget } from './target.harness';
import { probeKeys } from './vless-client.harness';

/** A real core, keyd managing it with a persisted config file, and an HTTP target to probe keys against. */
export interface Stack {
  dir: string;
  core: CoreProcess;
  keyd: KeydProcess;
  api: KeydClient;
  target: HttpTarget;
  /** The core config keyd keeps in sync (XRAY_CONFIG_PATH). */
  livePath: string;
  /** The core's access log (XRAY_ACCESS_LOG), when the stack was started with one. */
  accessLog?: string;
  /** uuid -> passes traffic now. */
  probe(uuids: string[]): Promise<Map<string, boolean>>;
  teardown(): Promise<void>;
}

export async function startStack(opts: {
  env?: Record<string, string>;
  name: string;
  accessLog?: boolean;
}): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), `keyd-e2e-${opts.name}-`));
  const target = await startHttpTarget();
  const accessLog = opts.accessLog ? join(dir, 'access.log') : undefined;
  const core = await startCore({ dir, accessLog });
  const livePath = join(dir, 'core-live.json');
  copyFileSync(core.configPath, livePath);
  const keyd = await createKeyd({
    dbPath: join(dir, 'keyd.sqlite'),
    coreApiAddr: core.apiAddr,
    env: {
      XRAY_CONFIG_PATH: livePath,
      XRAY_BIN: 'v2ray',
      KEYD_CONFIG_WRITE_WINDOW_MS: '200',
      ...(accessLog !== undefined ? { XRAY_ACCESS_LOG: accessLog } : {}),
      ...opts.env,
    },
  });
  await keyd.start();
  const api = keyd.client();
  return {
    dir,
    core,
    keyd,
    api,
    target,
    livePath,
    accessLog,
    probe: (uuids) => probeKeys({ vlessPort: core.vlessPort, uuids, target }),
    async teardown() {
      api.close();
      await stopAll();
      await target.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const allPass = (m: Map<string, boolean>) => [...m.values()].every(Boolean);
export const nonePass = (m: Map<string, boolean>) => [...m.values()].every((v) => !v);
