import { Stack, allPass, nonePass, startStack } from './support/stack.harness';
import { eventually, KeydClient, ProtoKey } from './support/keyd.harness';
import { AgentNode, fleetListen, metricValue, NodesClient, startAgentNode } from './support/fleet.harness';
import { runKeyd } from './support/cli.harness';
import { fetchThroughKey, startStream } from './support/vless-client.harness';
import { XrayClient } from '@keyd/xray';

const DAY = 86_400;
const NAMES = ['node-a', 'node-b', 'node-c'];
const ADMIN_TOKEN = 'fleet-suite-admin-token-0123456789';
const KIB = 1024;
/** Every core is polled each second: the control plane's own and the agents'. */
const STATS = { KEYD_STATS_INTERVAL_SECONDS: '1' };

/**
 * One control plane (with its own core, the local node) and three agents,
 * each next to its own real v2ray core, on loopback. Grants wait for the
 * connected agents; the wait is long here (60 s, past the calls' 15 s
 * deadline), so a grant that waited for a node that is down would fail.
 */
describe('fleet: a control plane and three agents with real cores', () => {
  let stack: Stack;
  let api: KeydClient;
  let nodes: NodesClient;
  let controlAddr: string;
  const agents = new Map<string, AgentNode>();
  const tokens = new Map<string, string>();

  const node = (name: string) => agents.get(name)!;
  const cli = (...args: string[]) => runKeyd(args, { KEYD_GRPC_LISTEN: stack.keyd.grpcAddr });
  const passesOn = async (name: string, uuids: string[]) => node(name).probe(uuids);
  const nodeStates = (k: ProtoKey & { nodes?: { name: string; provisioned: boolean }[] }) =>
    Object.fromEntries((k.nodes ?? []).map((n) => [n.name, n.provisioned]));
  const metrics = () => fetch(`${stack.keyd.httpUrl}/metrics`).then((r) => r.text());
  const connected = async (names: string[]) => {
    const list = (await nodes.list()).nodes;
    return names.every((n) => list.find((x) => x.name === n)?.connected);
  };

  beforeAll(async () => {
    controlAddr = await fleetListen();
    stack = await startStack({
      name: 'fleet',
      env: {
        KEYD_FLEET_LISTEN: controlAddr,
        KEYD_GRANT_NODE_WAIT_MS: '60000',
        KEYD_ADMIN_TOKEN: ADMIN_TOKEN,
        ...STATS,
      },
    });
    api = stack.api;
    nodes = new NodesClient(stack.keyd.grpcAddr);
    for (const name of NAMES) {
      // The last node is registered the way an operator would, with the CLI.
      const created =
        name === 'node-c'
          ? await cli('node', 'add', name, '--host', '127.0.0.1', '--port', '4431', '--json').then(
              (r) => JSON.parse(r.stdout) as { join_token: string },
            )
          : await nodes.create(name, 4431);
      tokens.set(name, created.join_token);
      agents.set(
        name,
        await startAgentNode({
          dir: stack.dir,
          name,
          controlAddr,
          joinToken: created.join_token,
          target: stack.target,
          accessLog: name === 'node-a',
          env: STATS,
        }),
      );
    }
    await eventually(() => connected(NAMES), 15_000);
  }, 120_000);

  afterAll(async () => {
    nodes?.close();
    await stack?.teardown();
  });

  it('lists the nodes, the local one with them, and refuses bad node input', async () => {
    const list = (await nodes.list()).nodes;
    expect(list.map((n) => [n.name, n.kind, n.group])).toEqual([
      ['default', 'local', 'default'],
      ['node-a', 'agent', 'default'],
      ['node-b', 'agent', 'default'],
      ['node-c', 'agent', 'default'],
    ]);
    await expect(nodes.create('node-a', 443)).rejects.toMatchObject({ code: 9 });
    await expect(nodes.create('bad name!', 443)).rejects.toMatchObject({ code: 3 });
    await expect(nodes.create('node-x', 0)).rejects.toMatchObject({ code: 3 });
    await expect(nodes.get('nobody')).rejects.toMatchObject({ code: 5 });
  });

  it('keyd node list and get show each node as NodeManager does; node add refuses bad input with exit 2', async () => {
    await eventually(async () => (await nodes.list()).nodes.every((n) => n.core_reachable), 10_000);
    const listed = await cli('node', 'list', '--json');
    expect(listed.code).toBe(0);
    const fromCli = (JSON.parse(listed.stdout) as { nodes: { name: string; kind: string; connected: boolean }[] })
      .nodes;
    expect(fromCli.map((n) => [n.name, n.kind, n.connected])).toEqual([
      ['default', 'local', true],
      ['node-a', 'agent', true],
      ['node-b', 'agent', true],
      ['node-c', 'agent', true],
    ]);
    const table = await cli('node', 'list');
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+KIND\s+GROUP\s+ADDRESS\s+STATE/);
    expect(table.stdout).toMatch(/^node-c\s+agent\s+default\s+127\.0\.0\.1:4431\s+connected\s+0\s+0\s+up \d+ s/m);
    const one = await cli('node', 'get', 'node-c');
    expect(one.stdout).toMatch(/state\s+connected/);
    expect(one.stdout).toMatch(/core\s+reachable, up \d+ s/);
    expect((await cli('node', 'get', 'nobody')).code).toBe(3);
    const bad = await cli('node', 'add', 'bad name!', '--host', '127.0.0.1', '--port', '443');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('name');
  });

  it('shows each node, connected, with its core, in /v1/status and /v1/nodes', async () => {
    // Agents report their core every second.
    await eventually(async () => (await nodes.list()).nodes.every((n) => n.core_reachable), 10_000);
    const auth = { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } };
    const status = (await fetch(`${stack.keyd.httpUrl}/v1/status`, auth).then((r) => r.json())) as {
      nodes: { name: string; connected: boolean; core_reachable: boolean; kind: string }[];
    };
    expect(status.nodes.map((n) => [n.name, n.kind, n.connected, n.core_reachable])).toEqual([
      ['default', 'local', true, true],
      ['node-a', 'agent', true, true],
      ['node-b', 'agent', true, true],
      ['node-c', 'agent', true, true],
    ]);
    const listed = await fetch(`${stack.keyd.httpUrl}/v1/nodes`, auth);
    expect(listed.status).toBe(200);
    expect(((await listed.json()) as { nodes: unknown[] }).nodes).toHaveLength(4);
    expect((await fetch(`${stack.keyd.httpUrl}/v1/nodes`)).status).toBe(401);
    const bad = await fetch(`${stack.keyd.httpUrl}/v1/nodes`, {
      method: 'POST',
      headers: { ...auth.headers, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'node-z', public_host: '127.0.0.1', public_port: 70000 }),
    });
    expect(bad.status).toBe(400);
    expect((await fetch(`${stack.keyd.httpUrl}/v1/nodes/nobody`, auth)).status).toBe(404);
  });

  it('a grant passes traffic through each of the three nodes right after the response', async () => {
    const res = await api.grant('fleet-alice', DAY);
    expect(res.key.provisioned).toBe(true);
    expect(nodeStates(res.key)).toEqual({ default: true, 'node-a': true, 'node-b': true, 'node-c': true });
    for (const name of NAMES) expect(allPass(await passesOn(name, [res.key.uuid]))).toBe(true);
    expect(allPass(await stack.probe([res.key.uuid]))).toBe(true);
  });

  it("a revocation cuts the key's open stream through an agent's node, and leaves another key's stream running", async () => {
    const a = node('node-a');
    const cut = (await api.grant('fleet-cut', DAY)).key;
    const kept = (await api.grant('fleet-kept', DAY)).key;
    const open = (uuid: string) =>
      startStream({ vlessPort: a.core.vlessPort, uuid, url: stack.target.slowUrl, sendThrough: '127.0.0.2' });
    const [cutStream, keptStream] = await Promise.all([open(cut.uuid), open(kept.uuid)]);
    try {
      expect(await cutStream.flows(16 * 1024, 10_000)).toBe(true);
      expect(await keptStream.flows(16 * 1024, 10_000)).toBe(true);
      await api.revoke('fleet-cut');
      // The bound the sessions suite holds a standalone node to.
      expect(await cutStream.stoppedWithin(3000)).toBe(true);
      expect(await keptStream.flows(32 * 1024, 3000)).toBe(true);
      expect(keptStream.ended).toBe(false);
      const agentMetrics = await fetch(`${a.agent.httpUrl}/metrics`).then((r) => r.text());
      expect(metricValue(agentMetrics, 'keyd_connections_cut_total', { reason: 'revoked' })).toBeGreaterThanOrEqual(1);
    } finally {
      await Promise.all([cutStream.stop(), keptStream.stop()]);
    }
  });

  it('a device limit set on the control plane holds on an agent node, and follows a change', async () => {
    const a = node('node-a');
    const { key } = await api.grantWith({ owner_id: 'fleet-devices', duration_seconds: DAY, device_limit: 1 });
    const open = (sendThrough: string) =>
      startStream({ vlessPort: a.core.vlessPort, uuid: key.uuid, url: stack.target.slowUrl, sendThrough });
    const first = await open('127.0.0.2');
    const streams = [first];
    try {
      expect(await first.flows(16 * KIB, 10_000)).toBe(true);
      // The agent knows the device once its core's access log line is read; then a second address is one too many.
      await new Promise((r) => setTimeout(r, 1000));
      const second = await open('127.0.0.3');
      streams.push(second);
      expect(await second.stoppedWithin(3000)).toBe(true);
      expect(await first.flows(64 * KIB, 5000)).toBe(true);
      const agentMetrics = await fetch(`${a.agent.httpUrl}/metrics`).then((r) => r.text());
      expect(
        metricValue(agentMetrics, 'keyd_connections_cut_total', { reason: 'device_limit' }),
      ).toBeGreaterThanOrEqual(1);

      // Raised to 2 on the control plane: the agent follows, and a second address streams on.
      await api.setDeviceLimit('fleet-devices', 2);
      await eventually(async () => (await api.get('fleet-devices')).provisioned, 10_000);
      await eventually(async () => (await nodes.get('node-a')).revision_lag === 0, 10_000);
      const third = await open('127.0.0.3');
      streams.push(third);
      expect(await third.flows(16 * KIB, 10_000)).toBe(true);
      expect(await third.flows(160 * KIB, 5000)).toBe(true);
      expect(third.ended).toBe(false);
    } finally {
      await Promise.all(streams.map((st) => st.stop()));
    }
  });

  it("traffic through two agents' nodes adds up in the key's usage, exactly, across an agent SIGKILL between polls", async () => {
    const a = node('node-a');
    const b = node('node-b');
    const { key } = await api.grant('fleet-usage', DAY);
    const download = async (n: AgentNode, bytes: number) =>
      expect(
        await fetchThroughKey({ vlessPort: n.core.vlessPort, uuid: key.uuid, url: stack.target.bytesUrl(bytes) }),
      ).toEqual({ ok: true, bytes });
    const downlink = async () => (await api.get('fleet-usage')).used_downlink_bytes;

    await download(a, 300 * KIB);
    await download(b, 500 * KIB);
    await eventually(async () => (await downlink()) >= 800 * KIB, 15_000, 200);

    // node-a's agent dies; its core keeps counting, and the bytes moved meanwhile are counted once it is back.
    await a.agent.kill('SIGKILL');
    await download(a, 200 * KIB);
    await download(b, 100 * KIB);
    await new Promise((r) => setTimeout(r, 1500));
    await a.agent.start();
    await eventually(async () => (await downlink()) >= 1100 * KIB, 20_000, 200);
    await new Promise((r) => setTimeout(r, 3000));

    // Exactly what the cores counted for the key, summed over every node that holds it.
    const counted = { up: 0, down: 0 };
    for (const core of [a.core, b.core, node('node-c').core, stack.core]) {
      const direct = new XrayClient({ core: { apiAddr: core.apiAddr, flavor: 'v2ray', callTimeoutMs: 5000 } } as never);
      try {
        for (const st of await direct.queryStats(`user>>>${key.email}>>>traffic>>>`)) {
          if (st.name.endsWith('>>>uplink')) counted.up += st.value;
          if (st.name.endsWith('>>>downlink')) counted.down += st.value;
        }
      } finally {
        direct.close();
      }
    }
    const settled = await api.get('fleet-usage');
    expect(counted.down).toBeGreaterThanOrEqual(1100 * KIB);
    expect([settled.used_uplink_bytes, settled.used_downlink_bytes]).toEqual([counted.up, counted.down]);
    expect(settled.lifetime_downlink_bytes).toBe(counted.down);
  });

  it("a data limit applies to the key's usage summed over the nodes, and the key is then refused on every node", async () => {
    const { key } = await api.grantWith({
      owner_id: 'fleet-capped',
      duration_seconds: DAY,
      data_limit_bytes: 600 * KIB,
    });
    const download = (n: AgentNode, bytes: number) =>
      fetchThroughKey({ vlessPort: n.core.vlessPort, uuid: key.uuid, url: stack.target.bytesUrl(bytes) });
    // Neither node alone reaches the limit; together they do.
    expect(await download(node('node-a'), 400 * KIB)).toEqual({ ok: true, bytes: 400 * KIB });
    expect(await download(node('node-b'), 400 * KIB)).toEqual({ ok: true, bytes: 400 * KIB });
    expect(await eventually(async () => (await api.get('fleet-capped')).status === 'SUSPENDED', 15_000, 200)).toBe(
      true,
    );
    await eventually(async () => nonePass(await passesOn('node-a', [key.uuid])), 10_000);
    expect(nonePass(await passesOn('node-b', [key.uuid]))).toBe(true);
    expect(nonePass(await passesOn('node-c', [key.uuid]))).toBe(true);
  });

  it("the key's subscription lists one link per node, named after it, at the node's address", async () => {
    const key = await api.get('fleet-alice');
    const text = await fetch(`${key.subscription_url}?format=plain`).then((r) => r.text());
    const links = text.trim().split('\n');
    expect(links.map((l) => decodeURIComponent(l.slice(l.indexOf('#') + 1)))).toEqual([
      'keyd-fleet-alice',
      'node-a-fleet-alice',
      'node-b-fleet-alice',
      'node-c-fleet-alice',
    ]);
    expect(links.slice(1).every((l) => l.startsWith(`vless://${key.uuid}@127.0.0.1:4431?`))).toBe(true);
  });

  it('a node that is down never holds a grant up; a key revoked meanwhile is refused there once it reconnects', async () => {
    const before = await api.grant('fleet-bob', DAY);
    expect(allPass(await passesOn('node-c', [before.key.uuid]))).toBe(true);
    const sentBefore = await metrics();
    await node('node-c').agent.kill('SIGKILL');
    await eventually(async () => !(await connected(['node-c'])), 10_000);

    await api.revoke('fleet-bob');
    const fresh = await api.grant('fleet-carol', DAY);
    expect(nodeStates(fresh.key)).toEqual({ default: true, 'node-a': true, 'node-b': true, 'node-c': false });
    expect(fresh.key.provisioned).toBe(false);
    expect(allPass(await passesOn('node-a', [fresh.key.uuid]))).toBe(true);
    // The core of node-c still runs on what its agent last applied: bob passes there until it reconnects.
    expect(allPass(await passesOn('node-c', [before.key.uuid]))).toBe(true);
    expect((await nodes.get('node-c')).revision_lag).toBeGreaterThanOrEqual(2);

    await node('node-c').agent.start();
    await eventually(async () => nonePass(await passesOn('node-c', [before.key.uuid])), 15_000);
    await eventually(async () => allPass(await passesOn('node-c', [fresh.key.uuid])), 15_000);
    await eventually(async () => (await api.get('fleet-carol')).provisioned, 15_000);
    expect((await nodes.get('node-c')).revision_lag).toBe(0);
    // It resumed from its own revision: the two changes it missed, no snapshot.
    const sentAfter = await metrics();
    const sent = (text: string, kind: string) =>
      metricValue(text, 'keyd_node_changes_sent_total', { node: 'node-c', kind });
    expect(sent(sentAfter, 'delta') - sent(sentBefore, 'delta')).toBe(2);
    expect(sent(sentAfter, 'snapshot')).toBe(sent(sentBefore, 'snapshot'));
  });

  it('a paused node is not waited for, and catches up on the 200 changes from its revision, not from a snapshot', async () => {
    const owners = Array.from({ length: 200 }, (_, i) => `fleet-burst-${i}`);
    const granted = await Promise.all(owners.map((o) => api.grant(o, DAY)));
    expect(granted.every((g) => g.key.provisioned)).toBe(true);
    const sample = granted.filter((_, i) => i % 20 === 0).map((g) => g.key.uuid);
    expect(allPass(await passesOn('node-b', sample))).toBe(true);

    const text = await metrics();
    const delta = metricValue(text, 'keyd_node_changes_sent_total', { node: 'node-b', kind: 'delta' });
    const snapshot = metricValue(text, 'keyd_node_changes_sent_total', { node: 'node-b', kind: 'snapshot' });
    const pid = node('node-b').agent.pid!;
    process.kill(pid, 'SIGSTOP');
    try {
      // Its link is found dead by keepalive pings; from then on no grant waits for it.
      await eventually(async () => !(await connected(['node-b'])), 15_000);
      const renewed = await Promise.all(owners.slice(0, 100).map((o) => api.grant(o, DAY)));
      expect(nodeStates(renewed[0].key)['node-b']).toBe(false);
      await Promise.all(owners.slice(100).map((o) => api.revoke(o)));
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const revoked = granted
      .slice(100)
      .filter((_, i) => i % 10 === 0)
      .map((g) => g.key.uuid);
    await eventually(async () => nonePass(await passesOn('node-b', revoked)), 15_000);
    await eventually(async () => (await nodes.get('node-b')).revision_lag === 0, 15_000);
    const after = await metrics();
    const sent = metricValue(after, 'keyd_node_changes_sent_total', { node: 'node-b', kind: 'delta' }) - delta;
    expect(sent).toBeGreaterThanOrEqual(200);
    expect(sent).toBeLessThan(260);
    expect(metricValue(after, 'keyd_node_changes_sent_total', { node: 'node-b', kind: 'snapshot' })).toBe(snapshot);
  });

  it('an agent and its core SIGKILLed mid-burst: no grant waits for them, their keys show pending, and after a restart every acknowledged grant is there', async () => {
    const a = node('node-a');
    const owners = Array.from({ length: 120 }, (_, i) => `fleet-kill-${i}`);
    const acknowledged: { owner: string; key: ProtoKey }[] = [];
    let next = 0;
    let killed: Promise<void> | undefined;
    // Eight grants in flight at a time; node-a and its core die once 30 are answered.
    const worker = async () => {
      while (next < owners.length) {
        const owner = owners[next++];
        const res = await api.grant(owner, DAY);
        acknowledged.push({ owner, key: res.key });
        if (acknowledged.length === 30)
          killed = Promise.all([a.agent.kill('SIGKILL'), a.core.kill('SIGKILL')]).then(() => undefined);
      }
    };
    // Each call has a 15 s deadline and the node wait here is 60 s: a grant that waited for the dead node would fail.
    await Promise.all(Array.from({ length: 8 }, worker));
    await killed;
    expect(acknowledged).toHaveLength(owners.length);

    const after = await Promise.all(acknowledged.slice(-40).map((g) => api.get(g.owner)));
    for (const k of after) {
      expect(nodeStates(k)).toEqual({ default: true, 'node-a': false, 'node-b': true, 'node-c': true });
      expect(k.provisioned).toBe(false);
    }
    const uuids = acknowledged.map((g) => g.key.uuid);
    expect(allPass(await passesOn('node-b', uuids))).toBe(true);
    expect((await nodes.get('node-a')).connected).toBe(false);

    // The core boots from the node's own file, the agent from its local copy and its certificate.
    await a.core.start(a.livePath);
    await a.agent.start();
    await eventually(
      async () => (await Promise.all(owners.map((o) => api.get(o)))).every((k) => k.provisioned),
      30_000,
    );
    expect(allPass(await passesOn('node-a', uuids))).toBe(true);
    expect(allPass(await stack.probe(uuids))).toBe(true);
  });

  it('deleting a node drains it: its core loses every key, then the node is gone', async () => {
    const res = await api.grant('fleet-dave', DAY);
    expect(allPass(await passesOn('node-c', [res.key.uuid]))).toBe(true);
    const removed = await cli('node', 'rm', 'node-c');
    expect(removed.stdout.trim()).toBe('draining node-c');
    await eventually(async () => nonePass(await passesOn('node-c', [res.key.uuid])), 15_000);
    await eventually(async () => !(await nodes.list()).nodes.some((n) => n.name === 'node-c'), 15_000);
    const after = await api.get('fleet-dave');
    expect(nodeStates(after)).toEqual({ default: true, 'node-a': true, 'node-b': true });
  });

  it('without the control plane a node restarts its core from its own file and still expires keys on time', async () => {
    const lasting = await api.grant('fleet-erin', DAY);
    const short = await api.grant('fleet-frank', 8);
    expect(nodeStates(short.key)['node-a']).toBe(true);
    const endMs = short.key.subscription_end.seconds * 1000;

    await stack.keyd.kill('SIGTERM');
    await node('node-a').core.restart(node('node-a').livePath);
    await eventually(async () => allPass(await passesOn('node-a', [lasting.key.uuid, short.key.uuid])), 10_000);
    // Refused on the node within 2 s of its end, with no control plane to tell it.
    await eventually(
      async () => nonePass(await passesOn('node-a', [short.key.uuid])),
      Math.max(0, endMs - Date.now()) + 2000,
    );
    expect(allPass(await passesOn('node-a', [lasting.key.uuid]))).toBe(true);
  });
});
