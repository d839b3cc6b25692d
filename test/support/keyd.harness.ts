import { ChildProcess, spawn } from 'child_process';
import * as path from 'path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { GRPC_LOADER_OPTIONS, grpcProtoFiles } from '@keyd/api';
import { freePorts, LOOPBACK } from './ports.harness';
import { hasExited, OutputRing, track, waitForExit } from './processes.harness';

const MAIN = path.resolve(__dirname, '../../dist/apps/keyd/src/main.js');

export interface ProtoKey {
  owner_id: string;
  uuid: string;
  email: string;
  inbound_tag: string;
  status: string;
  subscription_end: { seconds: number; nanos: number };
  vless_url: string;
  provisioned: boolean;
  flow: string;
  used_uplink_bytes: number;
  used_downlink_bytes: number;
  lifetime_uplink_bytes: number;
  lifetime_downlink_bytes: number;
  data_limit_bytes: number;
  data_limit_reset: string;
  subscription_url: string;
  last_traffic_at: { seconds: number; nanos: number } | null;
  device_limit: number;
  devices: { address: string; first_seen: { seconds: number }; last_seen: { seconds: number } }[];
}

export interface GrantResponse {
  key: ProtoKey;
  action: 'ISSUED' | 'RENEWED';
}

export interface ReconcileReport {
  added: number;
  removed: number;
  expired: number;
  failed: number;
  core_restart_detected: boolean;
  dry_run: boolean;
  unknown_removed: number;
  core_reachable: boolean;
}

type Callback<T> = (err: grpc.ServiceError | null, res: T) => void;
export type Method = (req: unknown, meta: grpc.Metadata, opts: grpc.CallOptions, cb: Callback<unknown>) => void;

let definition: grpc.GrpcObject | undefined;

/** keyd's gRPC package, loaded once for every client the suites make. */
export function keydPackage(): grpc.GrpcObject {
  definition ??= grpc.loadPackageDefinition(protoLoader.loadSync(grpcProtoFiles(), GRPC_LOADER_OPTIONS));
  return definition;
}

/** A promise-returning client for keyd's KeyManager and Health services. */
export class KeydClient {
  private readonly keys: grpc.Client;
  private readonly health: grpc.Client;

  constructor(
    addr: string,
    private readonly token?: string,
    creds: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  ) {
    const pkg = keydPackage() as unknown as {
      keyd: { v1: { KeyManager: grpc.ServiceClientConstructor } };
      grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
    };
    this.keys = new pkg.keyd.v1.KeyManager(addr, creds);
    this.health = new pkg.grpc.health.v1.Health(addr, creds);
  }

  close(): void {
    this.keys.close();
    this.health.close();
  }

  call<T>(method: string, req: unknown, opts: { token?: string; timeoutMs?: number } = {}): Promise<T> {
    const meta = new grpc.Metadata();
    const token = opts.token ?? this.token;
    if (token) meta.set('authorization', `Bearer ${token}`);
    const client = method === 'Check' ? this.health : this.keys;
    const fn = (client as unknown as Record<string, Method>)[method].bind(client);
    return new Promise<T>((resolve, reject) =>
      fn(req, meta, { deadline: Date.now() + (opts.timeoutMs ?? 15_000) }, (err, res) =>
        err ? reject(err) : resolve(res as T),
      ),
    );
  }

  grant(owner_id: string, duration_seconds: number, request_id = ''): Promise<GrantResponse> {
    return this.call('GrantAccess', { owner_id, duration_seconds, request_id });
  }
  grantWith(req: {
    owner_id: string;
    duration_seconds: number;
    data_limit_bytes?: number;
    data_limit_reset?: string;
    device_limit?: number;
    request_id?: string;
  }): Promise<GrantResponse> {
    return this.call('GrantAccess', req);
  }
  setDataLimit(owner_id: string, data_limit_bytes: number, data_limit_reset = ''): Promise<ProtoKey> {
    return this.call('SetDataLimit', { owner_id, data_limit_bytes, data_limit_reset: data_limit_reset || undefined });
  }
  setDeviceLimit(owner_id: string, device_limit: number): Promise<ProtoKey> {
    return this.call('SetDeviceLimit', { owner_id, device_limit });
  }
  resetUsage(owner_id: string): Promise<ProtoKey> {
    return this.call('ResetUsage', { owner_id });
  }
  regenerateSubscriptionToken(owner_id: string): Promise<ProtoKey> {
    return this.call('RegenerateSubscriptionToken', { owner_id });
  }
  revokeSubscriptionToken(owner_id: string): Promise<ProtoKey> {
    return this.call('RevokeSubscriptionToken', { owner_id });
  }
  revoke(owner_id: string): Promise<ProtoKey> {
    return this.call('RevokeAccess', { owner_id });
  }
  get(owner_id: string): Promise<ProtoKey> {
    return this.call('GetKey', { owner_id });
  }
  list(
    req: { page_size?: number; page_token?: string; status?: string } = {},
  ): Promise<{ keys: ProtoKey[]; next_page_token: string }> {
    return this.call('ListKeys', req);
  }
  /** Every key, page by page. */
  async listAll(req: { status?: string } = {}): Promise<ProtoKey[]> {
    const keys: ProtoKey[] = [];
    let page_token = '';
    do {
      const page = await this.list({ ...req, page_size: 1000, page_token });
      keys.push(...page.keys);
      page_token = page.next_page_token;
    } while (page_token);
    return keys;
  }
  reconcile(dry_run = false): Promise<ReconcileReport> {
    return this.call('Reconcile', { dry_run });
  }
}

/** The gRPC status code of a failed call, for assertions. */
export async function grpcCode(p: Promise<unknown>): Promise<number> {
  try {
    await p;
  } catch (e) {
    return (e as grpc.ServiceError).code;
  }
  throw new Error('expected the call to fail');
}

export interface KeydOptions {
  dbPath: string;
  coreApiAddr: string;
  env?: Record<string, string>;
}

/** The built daemon (dist/) as a child process, the way an operator runs it. */
export class KeydProcess {
  readonly grpcAddr: string;
  readonly httpUrl: string;
  /** The public subscription listener. */
  readonly subUrl: string;
  readonly env: Record<string, string>;
  /** A command keyd is started under, such as setpriv dropping a capability; empty runs it directly. */
  launcher: string[] = [];
  private child: ChildProcess | undefined;
  private readonly output = new OutputRing(2000);

  constructor(ports: { grpc: number; http: number; sub: number }, opts: KeydOptions) {
    this.grpcAddr = `${LOOPBACK}:${ports.grpc}`;
    this.httpUrl = `http://${LOOPBACK}:${ports.http}`;
    this.subUrl = `http://${LOOPBACK}:${ports.sub}`;
    this.env = {
      KEYD_DB_PATH: opts.dbPath,
      KEYD_GRPC_LISTEN: this.grpcAddr,
      KEYD_HTTP_LISTEN: `${LOOPBACK}:${ports.http}`,
      KEYD_SUB_LISTEN: `${LOOPBACK}:${ports.sub}`,
      XRAY_API_ADDR: opts.coreApiAddr,
      XRAY_CORE: 'v2ray',
      XRAY_INBOUND_TAG: 'vless-in',
      KEYD_CORE_PROBE_INTERVAL_MS: '500',
      KEYD_LOG_LEVEL: 'info',
      ...opts.env,
    };
  }

  get pid(): number | undefined {
    return this.child && !hasExited(this.child) ? this.child.pid : undefined;
  }

  logs(): string {
    return this.output.text();
  }

  /** SIGKILLs the daemon from inside the output handler of the first line matching pattern, with no delay. */
  async killOnLine(pattern: RegExp, timeoutMs: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.output.onLine((line) => {
        if (!pattern.test(line)) return;
        this.child?.kill('SIGKILL');
        clearTimeout(timer);
        off();
        resolve();
      });
    });
    await this.kill();
  }

  /** Starts the daemon; resolves when /readyz answers 200 unless told not to wait. */
  async start(opts: { waitReady?: boolean; timeoutMs?: number } = {}): Promise<void> {
    const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'], HOME: process.env['HOME'], ...this.env };
    const [cmd = process.execPath, ...args] = [...this.launcher, process.execPath, MAIN];
    this.child = track(spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] }));
    this.output.attach(this.child, 'keyd');
    if (opts.waitReady === false) return;
    await this.waitReady(opts.timeoutMs ?? 20_000);
  }

  async waitReady(timeoutMs = 20_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (!this.child || hasExited(this.child)) throw new Error(`keyd exited during start:\n${this.logs()}`);
      const status = await fetch(`${this.httpUrl}/readyz`).then(
        (r) => r.status,
        () => 0,
      );
      if (status === 200) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`keyd not ready after ${timeoutMs} ms:\n${this.logs()}`);
  }

  /** Waits for the process to exit on its own and returns its exit code. */
  async exitCode(timeoutMs = 20_000): Promise<number | null> {
    if (!this.child) throw new Error('not started');
    await waitForExit(this.child, timeoutMs);
    return this.child.exitCode;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.child || hasExited(this.child)) return;
    this.child.kill(signal);
    await waitForExit(this.child, 15_000);
  }

  client(token?: string): KeydClient {
    return new KeydClient(this.grpcAddr, token);
  }
}

export async function createKeyd(opts: KeydOptions): Promise<KeydProcess> {
  const [grpc, http, sub] = await freePorts(3);
  return new KeydProcess({ grpc, http, sub }, opts);
}

/**
 * Polls until check's value is truthy and returns it; otherwise throws, naming
 * the last value observed (or the last error thrown), so a failure says what
 * was seen instead of "expected true".
 */
export async function eventually<T>(check: () => Promise<T>, timeoutMs: number, intervalMs = 250): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
      last = value;
    } catch (e) {
      last = e instanceof Error ? `threw ${e.message}` : e;
    }
    if (Date.now() >= until)
      throw new Error(`not within ${timeoutMs} ms; last observed: ${JSON.stringify(last) ?? String(last)}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
