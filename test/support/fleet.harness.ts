import { copyFileSync, mkdirSync } from 'fs';
import { join } from 'path';
import * as grpc from '@grpc/grpc-js';
import { CoreProcess, startCore } from './core.harness';
import { createKeyd, KeydProcess, keydPackage, Method } from './keyd.harness';
import { freePort, LOOPBACK } from './ports.harness';
import { HttpTarget } from './target.harness';
import { probeKeys } from './vless-client.harness';

export interface ProtoNode {
  name: string;
  group: string;
  kind: string;
  connected: boolean;
  acked_revision: number;
  revision_lag: number;
  pending_keys: number;
  core_reachable: boolean;
  core_restarts: number;
  draining: boolean;
}

/** A promise-returning client for keyd's NodeManager. */
export class NodesClient {
  private readonly client: grpc.Client;

  constructor(addr: string) {
    const pkg = keydPackage() as unknown as {
      keyd: { v1: { NodeManager: grpc.ServiceClientConstructor } };
    };
    this.client = new pkg.keyd.v1.NodeManager(addr, grpc.credentials.createInsecure());
  }

  call<T>(method: string, req: unknown): Promise<T> {
    const fn = (this.client as unknown as Record<string, Method>)[method].bind(this.client);
    return new Promise<T>((resolve, reject) =>
      fn(req, new grpc.Metadata(), { deadline: Date.now() + 15_000 }, (err, res) =>
        err ? reject(err) : resolve(res as T),
      ),
    );
  }

  create(name: string, port: number, group = ''): Promise<{ node: ProtoNode; join_token: string }> {
    return this.call('CreateNode', { name, group, public_host: LOOPBACK, public_port: port });
  }
  list(): Promise<{ nodes: ProtoNode[] }> {
    return this.call('ListNodes', {});
  }
  get(name: string): Promise<ProtoNode> {
    return this.call('GetNode', { name });
  }
  remove(name: string, force = false): Promise<ProtoNode> {
    return this.call('DeleteNode', { name, force });
  }
  close(): void {
    this.client.close();
  }
}

/** One node of the fleet: a real core with its persisted file, and keyd as its agent. */
export interface AgentNode {
  name: string;
  core: CoreProcess;
  agent: KeydProcess;
  livePath: string;
  probe(uuids: string[]): Promise<Map<string, boolean>>;
}

export async function startAgentNode(opts: {
  dir: string;
  name: string;
  controlAddr: string;
  joinToken: string;
  target: HttpTarget;
  env?: Record<string, string>;
  /** The core writes an access log the agent follows, to cut the connections of keys that stop being active. */
  accessLog?: boolean;
}): Promise<AgentNode> {
  const dir = join(opts.dir, opts.name);
  mkdirSync(dir, { recursive: true });
  const accessLog = opts.accessLog ? join(dir, 'access.log') : undefined;
  const core = await startCore({ dir, accessLog });
  const livePath = join(dir, 'core-live.json');
  copyFileSync(core.configPath, livePath);
  const agent = await createKeyd({
    dbPath: join(dir, 'agent.sqlite'),
    coreApiAddr: core.apiAddr,
    env: {
      KEYD_ROLE: 'agent',
      KEYD_NODE_NAME: opts.name,
      KEYD_CONTROL_ADDR: opts.controlAddr,
      KEYD_JOIN_TOKEN: opts.joinToken,
      XRAY_CONFIG_PATH: livePath,
      XRAY_BIN: 'v2ray',
      KEYD_CONFIG_WRITE_WINDOW_MS: '200',
      ...(accessLog !== undefined ? { XRAY_ACCESS_LOG: accessLog } : {}),
      ...opts.env,
    },
  });
  await agent.start();
  return {
    name: opts.name,
    core,
    agent,
    livePath,
    probe: (uuids) => probeKeys({ vlessPort: core.vlessPort, uuids, target: opts.target }),
  };
}

/** A free loopback address for the control plane's agent link. */
export async function fleetListen(): Promise<string> {
  return `${LOOPBACK}:${await freePort()}`;
}

/** A counter's value from Prometheus text, 0 when absent. */
export function metricValue(text: string, name: string, labels: Record<string, string>): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const inside = line.slice(name.length + 1, line.indexOf('}'));
    if (want.every((w) => inside.split(',').includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}
