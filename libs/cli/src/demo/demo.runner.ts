import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import QRCode from 'qrcode';
import { childEnvironment } from '@keyd/config';
import { CliContext } from '../cli.context';
import { CliError } from '../exit.codes';
import { KeydClient } from '../keyd.client';
import { WireGrant, WireKey } from '../wire.types';
import { clientConfig, DemoPorts, INBOUND_TAG, serverConfig } from './demo.configs';
import { coreVersion, DemoChild, DemoProcesses } from './demo.processes';
import { freeLoopbackPorts } from './ports.finder';

const LOOPBACK = '127.0.0.1';
const READY_TIMEOUT_MS = 30_000;

export interface DemoResult {
  dir: string;
  core: { bin: string; version: string };
  grpc_addr: string;
  key: WireKey;
  traffic: { passed: boolean; status: number; stranger_refused: boolean };
  subscription: { status: number };
}

interface Core {
  bin: string;
  version: string;
  flavor: 'xray' | 'v2ray';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** XRAY_BIN when set, else `v2ray` (the Debian package), else `xray`, from PATH. */
async function findCore(configured: string | undefined): Promise<Core> {
  const candidates = configured ? [configured] : ['v2ray', 'xray'];
  for (const bin of candidates) {
    const version = await coreVersion(bin);
    if (version) return { bin, version, flavor: /xray/i.test(version) ? 'xray' : 'v2ray' };
  }
  throw new CliError(
    configured
      ? `no core binary found: XRAY_BIN=${configured} does not run (\`${configured} version\` failed)`
      : 'no core binary found: apt-get install v2ray (or set XRAY_BIN to an xray binary)',
  );
}

/** v2ray 4 takes `-config`; v2ray 5 and xray take `run -c`. */
const coreArgs = (core: Core, config: string) =>
  core.flavor === 'v2ray' && /^V2Ray 4\./.test(core.version) ? ['-config', config] : ['run', '-c', config];

/**
 * `keyd demo`: a throwaway core and keyd on free loopback ports, a key granted
 * and proven with real traffic through a local VLESS client. Each step says
 * what it did; everything started is stopped at the end, or on failure.
 */
export class DemoRunner {
  private readonly procs = new DemoProcesses();

  constructor(
    private readonly ctx: CliContext,
    private readonly entry: string,
  ) {}

  private step(text: string): void {
    // With --json the steps go to stderr, so stdout is the one JSON document.
    if (this.ctx.json) this.ctx.io.err(text);
    else this.ctx.io.out(text);
  }

  async run(opts: { once: boolean; waitForStop: () => Promise<void> }): Promise<void> {
    const core = await findCore(this.ctx.env().coreBin);
    const dir = await fs.mkdtemp(join(tmpdir(), 'keyd-demo-'));
    try {
      const result = await this.setUp(dir, core);
      await this.show(result);
      if (!opts.once) {
        this.step('\nEverything is running; press Ctrl-C to stop it.');
        await opts.waitForStop();
      }
    } finally {
      await this.procs.stopAll();
      await fs.rm(dir, { recursive: true, force: true });
      this.step(`Stopped the client, keyd and the core; removed ${dir}.`);
    }
  }

  private async setUp(dir: string, core: Core): Promise<DemoResult> {
    const [api, vless, grpc, http, sub, tunnel, stranger] = await freeLoopbackPorts(7);
    const p: DemoPorts = { api, vless, grpc, http, sub, tunnel, stranger };
    const configPath = join(dir, 'core.json');
    await fs.writeFile(configPath, JSON.stringify(serverConfig(p), null, 2), { mode: 0o600 });
    this.step(
      `1. Wrote a core config to ${configPath}: API on ${LOOPBACK}:${api}, VLESS inbound on ${LOOPBACK}:${vless}.`,
    );
    const coreProc = this.procs.start(
      'core',
      core.bin,
      coreArgs(core, configPath),
      childEnvironment({}),
      join(dir, 'core.log'),
    );
    this.step(`   Started the core: ${core.version} (${core.bin}).`);

    const grpcAddr = `${LOOPBACK}:${grpc}`;
    const keyd = this.procs.start(
      'keyd',
      process.execPath,
      [this.entry, 'serve'],
      childEnvironment({
        KEYD_DB_PATH: join(dir, 'keyd.sqlite'),
        KEYD_GRPC_LISTEN: grpcAddr,
        KEYD_HTTP_LISTEN: `${LOOPBACK}:${http}`,
        KEYD_SUB_LISTEN: `${LOOPBACK}:${sub}`,
        KEYD_PUBLIC_HOST: LOOPBACK,
        KEYD_PUBLIC_PORT: String(vless),
        KEYD_LINK_NAME: 'keyd-demo',
        XRAY_API_ADDR: `${LOOPBACK}:${api}`,
        XRAY_CORE: core.flavor,
        XRAY_INBOUND_TAG: INBOUND_TAG,
        XRAY_CONFIG_PATH: configPath,
        XRAY_BIN: core.bin,
        KEYD_CORE_PROBE_INTERVAL_MS: '500',
        KEYD_LOG_LEVEL: 'info',
      }),
      join(dir, 'keyd.log'),
    );
    await this.waitReady(`http://${LOOPBACK}:${http}/readyz`, keyd, coreProc);
    this.step(
      `2. Started keyd on ${join(dir, 'keyd.sqlite')}: gRPC on ${grpcAddr}, HTTP on ${LOOPBACK}:${http}, ` +
        `subscriptions on ${LOOPBACK}:${sub}; it keeps ${configPath} in sync.`,
    );

    const client = new KeydClient({ addr: grpcAddr, timeoutMs: 10_000 });
    let grant: WireGrant;
    try {
      grant = await client.call<WireGrant>('GrantAccess', {
        owner_id: 'demo',
        duration_seconds: 86_400,
        request_id: '',
      });
    } finally {
      client.close();
    }
    this.step(`3. Granted a key to owner "demo" for one day: ${grant.action}, in the core: ${grant.key.provisioned}.`);

    const traffic = await this.proveTraffic(dir, core, p, grant.key.uuid);
    this.step(
      `   Sent GET /healthz through a local VLESS client with the key: answered ${traffic.status}` +
        `${traffic.passed ? ', traffic passed' : ''}; a UUID without a key was ${traffic.stranger_refused ? 'refused' : 'NOT refused'}.`,
    );
    if (!traffic.passed || !traffic.stranger_refused)
      throw new CliError('the key did not behave: traffic with the key must pass and without it must not');
    const subscription = await fetch(grant.key.subscription_url, { signal: AbortSignal.timeout(5000) });
    await subscription.arrayBuffer();
    return {
      dir,
      core: { bin: core.bin, version: core.version },
      grpc_addr: grpcAddr,
      key: grant.key,
      traffic,
      subscription: { status: subscription.status },
    };
  }

  private async waitReady(url: string, keyd: DemoChild, core: DemoChild): Promise<void> {
    const until = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < until) {
      for (const c of [core, keyd])
        if (c.exited) throw new CliError(`the ${c.name} exited during start:\n${this.procs.tail(c)}`);
      const status = await fetch(url, { signal: AbortSignal.timeout(1000) }).then(
        (r) => r.status,
        () => 0,
      );
      if (status === 200) return;
      await sleep(200);
    }
    throw new CliError(`keyd was not ready within ${READY_TIMEOUT_MS / 1000} s:\n${this.procs.tail(keyd)}`);
  }

  /** Starts a VLESS client and asks keyd's /healthz through it, with the key and with a stranger's UUID. */
  private async proveTraffic(dir: string, core: Core, p: DemoPorts, uuid: string): Promise<DemoResult['traffic']> {
    const path = join(dir, 'client.json');
    await fs.writeFile(path, JSON.stringify(clientConfig(p, uuid, randomUUID()), null, 2), { mode: 0o600 });
    const clientProc = this.procs.start(
      'VLESS client',
      core.bin,
      coreArgs(core, path),
      childEnvironment({}),
      join(dir, 'client.log'),
    );
    const get = (port: number) =>
      fetch(`http://${LOOPBACK}:${port}/healthz`, { signal: AbortSignal.timeout(3000) }).then(
        async (r) => ({ status: r.status, body: await r.text() }),
        () => ({ status: 0, body: '' }),
      );
    let status = 0;
    for (const until = Date.now() + 15_000; Date.now() < until && status !== 200;) {
      if (clientProc.exited) throw new CliError(`the VLESS client exited:\n${this.procs.tail(clientProc)}`);
      status = (await get(p.tunnel)).status;
      if (status !== 200) await sleep(300);
    }
    const stranger = await get(p.stranger);
    return { passed: status === 200, status, stranger_refused: stranger.status !== 200 };
  }

  private async show(r: DemoResult): Promise<void> {
    const qr = await QRCode.toString(r.key.vless_url, { type: 'terminal', small: true });
    if (this.ctx.json) {
      this.ctx.io.out(JSON.stringify({ ...r, qr }, null, 2));
      return;
    }
    this.step(`4. The key:\n
   uuid          ${r.key.uuid}
   share link    ${r.key.vless_url}
   subscription  ${r.key.subscription_url} (answers ${r.subscription.status})
\n${qr}
   Try the CLI on it:  npx keyd --addr ${r.grpc_addr} get demo --qr
                       npx keyd --addr ${r.grpc_addr} status`);
  }
}
