import { ChildProcess, spawn } from 'child_process';
import { promises as fs } from 'fs';
import * as path from 'path';
import { LOOPBACK, freePorts } from './ports.harness';
import {
  OutputRing,
  hasExited,
  isPortAccepting,
  stopProcess,
  track,
  waitForExit,
  waitForTcp,
} from './processes.harness';

/** Overridable so the same tests can run against an Xray binary. */
export const CORE_BIN = process.env['KEYD_CORE_BIN'] ?? 'v2ray';

const START_TIMEOUT_MS = 10_000;
const KILL_ESCALATE_MS = 5_000;

export interface CoreClientEntry {
  id: string;
  email: string;
  flow?: string;
}

export interface CoreInbound {
  tag: string;
  listen: string;
  port: number;
  protocol: string;
  settings: Record<string, unknown>;
}

export interface CoreConfig {
  log: { loglevel: string; access?: string };
  api: { tag: string; services: string[] };
  stats: Record<string, never>;
  policy: {
    levels: Record<string, { statsUserUplink: boolean; statsUserDownlink: boolean }>;
    system: Record<string, boolean>;
  };
  inbounds: CoreInbound[];
  outbounds: Array<{ protocol: string; tag: string }>;
  routing: { rules: Array<{ type: string; inboundTag: string[]; outboundTag: string }> };
}

export interface BaseCoreConfigOptions {
  apiPort: number;
  vlessPort: number;
  clients?: CoreClientEntry[];
  inboundTag?: string;
  /** Where the core writes its access log (one line per accepted connection). */
  accessLog?: string;
}

export function baseCoreConfig(opts: BaseCoreConfigOptions): CoreConfig {
  const clients = (opts.clients ?? []).map((c) => ({
    id: c.id,
    email: c.email,
    level: 0,
    ...(c.flow !== undefined ? { flow: c.flow } : {}),
  }));
  return {
    log: { loglevel: 'warning', ...(opts.accessLog !== undefined ? { access: opts.accessLog } : {}) },
    api: { tag: 'api', services: ['HandlerService', 'StatsService'] },
    stats: {},
    // Level 0 is the level every client gets, so per-user counters exist
    // for users added later through the API as well.
    policy: { levels: { '0': { statsUserUplink: true, statsUserDownlink: true } }, system: {} },
    inbounds: [
      {
        tag: 'api-in',
        listen: LOOPBACK,
        port: opts.apiPort,
        protocol: 'dokodemo-door',
        settings: { address: LOOPBACK },
      },
      {
        tag: opts.inboundTag ?? 'vless-in',
        listen: LOOPBACK,
        port: opts.vlessPort,
        protocol: 'vless',
        settings: { clients, decryption: 'none' },
      },
    ],
    outbounds: [{ protocol: 'freedom', tag: 'direct' }],
    routing: { rules: [{ type: 'field', inboundTag: ['api-in'], outboundTag: 'api' }] },
  };
}

export async function writeJson(file: string, value: unknown): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, JSON.stringify(value, null, 2));
}

export interface CoreProcessOptions {
  apiPort: number;
  vlessPort: number;
  configPath: string;
}

export class CoreProcess {
  readonly apiPort: number;
  readonly vlessPort: number;
  readonly apiAddr: string;
  readonly configPath: string;
  private child: ChildProcess | undefined;
  private isPaused = false;
  private readonly output = new OutputRing(1000);

  constructor(opts: CoreProcessOptions) {
    this.apiPort = opts.apiPort;
    this.vlessPort = opts.vlessPort;
    this.apiAddr = `${LOOPBACK}:${opts.apiPort}`;
    this.configPath = opts.configPath;
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  /** True while the process exists, including while it is paused. */
  get running(): boolean {
    return this.child !== undefined && !hasExited(this.child);
  }

  get paused(): boolean {
    return this.running && this.isPaused;
  }

  /** Output of every run of this core, oldest first, with markers between runs. */
  logs(): string {
    return this.output.text();
  }

  async start(configPath: string = this.configPath): Promise<void> {
    if (this.running) {
      throw new Error(`core already running (pid ${String(this.child?.pid)})`);
    }
    // A leftover listener would satisfy the readiness probe while our core
    // dies on "address already in use", making the test talk to a stranger.
    for (const port of [this.apiPort, this.vlessPort]) {
      if (await isPortAccepting(port)) {
        throw new Error(`port ${port} is already accepting connections before the core started`);
      }
    }

    this.output.push(`--- ${CORE_BIN} -config ${configPath} ---`);
    const child = spawn(CORE_BIN, ['-config', configPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.isPaused = false;
    this.output.attach(child);
    child.on('error', (err) => this.output.push(`--- spawn error: ${err.message} ---`));
    child.once('exit', (code, signal) =>
      this.output.push(`--- pid ${String(child.pid)} exited (code=${String(code)}, signal=${String(signal)}) ---`),
    );
    track(child);

    const aborter = new AbortController();
    const onExit = (): void => aborter.abort(new Error('core exited before it was ready'));
    const onError = (err: Error): void => aborter.abort(err);
    child.once('exit', onExit);
    child.once('error', onError);
    if (hasExited(child)) {
      onExit();
    }
    try {
      const waitOpts = { signal: aborter.signal };
      await Promise.all([
        waitForTcp(this.apiPort, START_TIMEOUT_MS, waitOpts),
        waitForTcp(this.vlessPort, START_TIMEOUT_MS, waitOpts),
      ]);
    } catch (err) {
      aborter.abort(err);
      await stopProcess(child, 500);
      const reason = err instanceof Error ? err.message : String(err);
      throw new Error(`core failed to start from ${configPath}: ${reason}\n--- core logs ---\n${this.logs()}`);
    } finally {
      child.off('exit', onExit);
      child.off('error', onError);
    }
  }

  /**
   * A catchable signal sent to a SIGSTOPped process stays pending forever,
   * so the core is continued first; a signal that does not end the process
   * within a few seconds is escalated to SIGKILL so kill() always returns.
   */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (child === undefined || hasExited(child)) {
      return;
    }
    if (signal !== 'SIGKILL' && this.isPaused) {
      child.kill('SIGCONT');
    }
    child.kill(signal);
    if (!(await waitForExit(child, KILL_ESCALATE_MS))) {
      child.kill('SIGKILL');
      await waitForExit(child);
    }
    this.isPaused = false;
  }

  async stop(): Promise<void> {
    if (this.child !== undefined) {
      await stopProcess(this.child);
    }
    this.isPaused = false;
  }

  pause(): void {
    this.signalRunning('SIGSTOP');
    this.isPaused = true;
  }

  resume(): void {
    this.signalRunning('SIGCONT');
    this.isPaused = false;
  }

  async restart(configPath: string = this.configPath): Promise<void> {
    await this.kill();
    await this.start(configPath);
  }

  private signalRunning(signal: NodeJS.Signals): void {
    if (this.child === undefined || hasExited(this.child)) {
      throw new Error(`cannot send ${signal}: core is not running`);
    }
    this.child.kill(signal);
  }
}

export interface StartCoreOptions {
  dir: string;
  clients?: CoreClientEntry[];
  inboundTag?: string;
  accessLog?: string;
}

export async function startCore(opts: StartCoreOptions): Promise<CoreProcess> {
  const [apiPort, vlessPort] = await freePorts(2);
  if (apiPort === undefined || vlessPort === undefined) {
    throw new Error('could not allocate ports for the core');
  }
  const configPath = path.join(opts.dir, 'core-base.json');
  await writeJson(
    configPath,
    baseCoreConfig({
      apiPort,
      vlessPort,
      clients: opts.clients,
      inboundTag: opts.inboundTag,
      accessLog: opts.accessLog,
    }),
  );
  const core = new CoreProcess({ apiPort, vlessPort, configPath });
  await core.start();
  return core;
}
