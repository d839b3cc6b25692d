import * as path from 'path';
import { CoreProcess } from '../../test/support/core.harness';
import { AgentNode, fleetListen, NodesClient, ProtoNode, startAgentNode } from '../../test/support/fleet.harness';
import { KeydClient, KeydProcess } from '../../test/support/keyd.harness';
import { HttpTarget, startHttpTarget } from '../../test/support/target.harness';
import { BenchContext, ScenarioResult, SummaryRow, fmt } from '../support/bench.context';
import { startCoreTimed, startKeyd, stopKeyd, writeCoreFiles } from '../support/bench.stack';
import { median, ratio, round } from '../support/latency.stats';
import { mapLimit } from '../support/load.runner';
import { rawAdds } from './import.scenario';
import { ProcessSampler } from '../support/process.sampler';
import { scrape } from '../support/prometheus.scraper';

/** Scaled down to one machine: every core and agent runs here next to the control plane. */
const NODES = 10;
const DAY = 86_400;
const CHANGES = 100;
const POLL_MS = 50;
/** Reconnects timed at each size; the median is reported, since one sample on a shared machine is noise. */
const ROUNDS = 3;
/**
 * The changes make the control plane rewrite its own core's file after its
 * write window (1 s); an outage outlasts that, and the write, which grows
 * with the key count, is its own core's work and not the link's.
 */
const SETTLE_MS = 2500;

interface ReconnectFigures {
  keys: number;
  /** From SIGCONT to the node acknowledging the last change with nothing pending: the median of the rounds. */
  seconds: number;
  samples: number[];
  /** Over every round, each of CHANGES changes. */
  deltaChanges: number;
  snapshotKeys: number;
}

export interface FleetFigures {
  nodes: number;
  keys: number;
  seedSeconds: number;
  seedGrantsPerSecond: number;
  /** A node added to the loaded fleet: enrollment, snapshot, its agent's commit and its core's adds. */
  fullSyncSeconds: number;
  rawAddsSeconds: number;
  fullSyncRatio: number | null;
  reconnects: ReconnectFigures[];
  reconnectGrowth: number | null;
  controlRssBytes: number;
  controlPeakRssBytes: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the node has acknowledged every change of its group and its core holds every key. */
async function synced(nodes: NodesClient, name: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const n: ProtoNode = await nodes.get(name);
    if (n.connected && n.revision_lag === 0 && n.pending_keys === 0 && n.acked_revision > 0) return;
    if (Date.now() > until) throw new Error(`${name} not synced within ${timeoutMs} ms: ${JSON.stringify(n)}`);
    await sleep(POLL_MS);
  }
}

async function grantMany(api: KeydClient, owners: string[], concurrency: number): Promise<void> {
  await mapLimit(owners, concurrency, (o) => api.grant(o, DAY));
}

async function sentChanges(keyd: KeydProcess, node: string): Promise<{ delta: number; snapshot: number }> {
  const s = await scrape(keyd.httpUrl);
  return {
    delta: s.sum('keyd_node_changes_sent_total', { node, kind: 'delta' }),
    snapshot: s.sum('keyd_node_changes_sent_total', { node, kind: 'snapshot' }),
  };
}

/**
 * node-0's agent is paused (SIGSTOP) until the control plane finds its link
 * dead, 100 keys change (half revoked, half granted), and the agent goes on
 * (SIGCONT): it reconnects and resumes from its revision. A pause, not a
 * restart, so the figure is the link's and not a process start's. Returns
 * the seconds from SIGCONT to the node being in sync.
 */
async function reconnectOnce(
  api: KeydClient,
  nodes: NodesClient,
  node: AgentNode,
  live: string[],
  tag: string,
): Promise<number> {
  const pid = node.agent.pid ?? 0;
  process.kill(pid, 'SIGSTOP');
  for (let t = Date.now(); (await nodes.get(node.name)).connected;) {
    if (Date.now() - t > 30_000) throw new Error(`${node.name} still connected 30 s after SIGSTOP`);
    await sleep(POLL_MS);
  }
  const revoked = live.splice(0, CHANGES / 2);
  await mapLimit(revoked, 8, (o) => api.revoke(o));
  const fresh = Array.from({ length: CHANGES / 2 }, (_, i) => `fleet-back-${tag}-${i}`);
  await grantMany(api, fresh, 8);
  live.push(...fresh);
  await sleep(SETTLE_MS);
  const t0 = Date.now();
  process.kill(pid, 'SIGCONT');
  await synced(nodes, node.name, 120_000);
  return (Date.now() - t0) / 1000;
}

async function reconnect(
  ctx: BenchContext,
  keyd: KeydProcess,
  api: KeydClient,
  nodes: NodesClient,
  node: AgentNode,
  live: string[],
): Promise<ReconnectFigures> {
  const keys = live.length;
  ctx.progress(`fleet: ${node.name} away while ${CHANGES} keys change, ${ROUNDS} times, at ${fmt.size(keys)} keys`);
  const before = await sentChanges(keyd, node.name);
  const samples: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    samples.push(round(await reconnectOnce(api, nodes, node, live, `${keys}-${i}`), 2));
    await sleep(SETTLE_MS);
  }
  const after = await sentChanges(keyd, node.name);
  return {
    keys,
    seconds: median(samples),
    samples,
    deltaChanges: after.delta - before.delta,
    snapshotKeys: after.snapshot - before.snapshot,
  };
}

/**
 * One control plane and ten agent nodes with their cores, all on this
 * machine. Keys are seeded through the gRPC API while the agents follow
 * them; then a reconnect after 100 changes is timed at a tenth of the keys
 * and at all of them (it must not grow with the key count), and a node
 * added to the loaded fleet is timed to a full sync against as many raw adds
 * on a fresh core.
 */
export async function fleetScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const size = ctx.options.fleetKeys;
  const dir = await ctx.scratch('fleet');
  const target: HttpTarget = await startHttpTarget();
  const files = await writeCoreFiles(path.join(dir, 'control'));
  const { core } = await startCoreTimed(files, files.basePath);
  const controlAddr = await fleetListen();
  const keyd = await startKeyd({
    dbPath: path.join(dir, 'control.sqlite'),
    core,
    livePath: files.livePath,
    env: { KEYD_FLEET_LISTEN: controlAddr },
  });
  const sampler = new ProcessSampler(keyd.pid ?? 0, 500).start();
  const api = keyd.client();
  const nodes = new NodesClient(keyd.grpcAddr);
  const agents: AgentNode[] = [];
  const cores: CoreProcess[] = [core];
  const addNode = async (name: string): Promise<AgentNode> => {
    const created = await nodes.create(name, 443);
    // The operator's default write window, not the tests' short one.
    const env = { KEYD_CONFIG_WRITE_WINDOW_MS: '1000' };
    const node = await startAgentNode({ dir, name, controlAddr, joinToken: created.join_token, target, env });
    cores.push(node.core);
    return node;
  };
  try {
    ctx.progress(`fleet: ${NODES} agent nodes`);
    for (let i = 0; i < NODES; i++) {
      const t = Date.now();
      agents.push(await addNode(`node-${i}`));
      ctx.progress(`fleet: node-${i} up in ${Date.now() - t} ms`);
    }

    const live: string[] = [];
    const reconnects: ReconnectFigures[] = [];
    const tenth = Math.max(CHANGES, Math.floor(size / 10));
    ctx.progress(`fleet: seeding ${fmt.size(size)} keys through the gRPC API to ${NODES} nodes`);
    const seedStart = Date.now();
    const seedTo = async (n: number) => {
      const owners = Array.from({ length: n - live.length }, (_, i) => `fleet-${live.length + i}`);
      await grantMany(api, owners, ctx.options.seedConcurrency);
      live.push(...owners);
    };
    await seedTo(tenth);
    let seedMs = Date.now() - seedStart;
    await Promise.all(agents.map((a) => synced(nodes, a.name, 300_000)));
    reconnects.push(await reconnect(ctx, keyd, api, nodes, agents[0], live));
    const rest = Date.now();
    await seedTo(size);
    seedMs += Date.now() - rest;
    await Promise.all(agents.map((a) => synced(nodes, a.name, 600_000)));
    reconnects.push(await reconnect(ctx, keyd, api, nodes, agents[0], live));

    ctx.progress(`fleet: a new node's full sync of ${fmt.size(live.length)} keys`);
    const t0 = Date.now();
    const fresh = await addNode('node-new');
    agents.push(fresh);
    await synced(nodes, fresh.name, 600_000);
    const fullSyncSeconds = (Date.now() - t0) / 1000;
    const memory = await sampler.sample();
    const controlPeakRssBytes = await sampler.peakRss();
    sampler.stop();
    await Promise.all(agents.map((a) => stopKeyd(a.agent)));
    await stopKeyd(keyd);
    await Promise.all(cores.map((c) => c.stop()));
    const rawAddsSeconds = await rawAdds(ctx, await writeCoreFiles(path.join(dir, 'raw')), live.length, 'fleet');
    const [small, large] = reconnects;
    const data: FleetFigures = {
      nodes: NODES,
      keys: live.length,
      seedSeconds: round(seedMs / 1000, 1),
      seedGrantsPerSecond: Math.round(size / (seedMs / 1000)),
      fullSyncSeconds: round(fullSyncSeconds, 2),
      rawAddsSeconds: round(rawAddsSeconds, 2),
      fullSyncRatio: ratio(fullSyncSeconds, rawAddsSeconds),
      reconnects,
      reconnectGrowth: small && large ? ratio(large.seconds, small.seconds) : null,
      controlRssBytes: memory.rssBytes,
      controlPeakRssBytes,
    };
    return { name: 'fleet', rows: rowsOf(data), notes: notesOf(data), data };
  } finally {
    sampler.stop();
    api.close();
    nodes.close();
    await target.close();
  }
}

function rowsOf(d: FleetFigures): SummaryRow[] {
  const [small, large] = d.reconnects;
  return [
    {
      figure: `a new node's full sync ÷ raw adds on a fresh core`,
      size: `${fmt.size(d.keys)} keys, ${d.nodes} nodes`,
      ratio: fmt.ratio(d.fullSyncRatio),
      keyd: `${d.fullSyncSeconds} s`,
      reference: `${d.rawAddsSeconds} s`,
    },
    {
      figure: `reconnect after ${CHANGES} changes, ${fmt.size(large?.keys ?? 0)} ÷ ${fmt.size(small?.keys ?? 0)} keys, median of ${ROUNDS}`,
      size: `${d.nodes} nodes`,
      ratio: fmt.ratio(d.reconnectGrowth),
      keyd: `${large?.seconds ?? '?'} s, ${large?.deltaChanges ?? '?'} changes sent in ${ROUNDS} rounds`,
      reference: `${small?.seconds ?? '?'} s, ${small?.deltaChanges ?? '?'} changes sent in ${ROUNDS} rounds`,
    },
    {
      figure: 'control plane RSS, peak',
      size: `${fmt.size(d.keys)} keys, ${d.nodes + 1} nodes`,
      ratio: '',
      keyd: fmt.bytes(d.controlPeakRssBytes),
      reference: `now ${fmt.bytes(d.controlRssBytes)}`,
    },
    {
      figure: `seeding through the gRPC API to ${d.nodes} nodes, grants/s`,
      size: `${fmt.size(d.keys)} keys`,
      ratio: '',
      keyd: `${d.seedGrantsPerSecond}/s`,
      reference: `${d.seedSeconds} s`,
    },
  ];
}

function notesOf(d: FleetFigures): string[] {
  return [
    `scaled down: ${d.nodes} agents and their cores run on this machine with the control plane, so every figure shares its CPUs`,
    ...d.reconnects.map(
      (r) =>
        `reconnect at ${fmt.size(r.keys)} keys: ${r.samples.join(' / ')} s over ${ROUNDS} rounds, ${r.deltaChanges} delta changes and ${r.snapshotKeys} snapshot keys sent`,
    ),
  ];
}
