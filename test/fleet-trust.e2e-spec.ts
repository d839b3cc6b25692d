import { execFileSync } from 'child_process';
import { createHash, X509Certificate } from 'crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'fs';
import { join } from 'path';
import type { PeerCertificate } from 'tls';
import * as grpc from '@grpc/grpc-js';
import { makeTestPki, TestPki } from './support/certs.harness';
import { fleetListen, NodesClient, startAgentNode } from './support/fleet.harness';
import { runKeyd } from './support/cli.harness';
import { eventually, keydPackage } from './support/keyd.harness';
import { unaryStatus } from './support/raw-socket.harness';
import { Stack, startStack } from './support/stack.harness';

type Unary = (req: unknown, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: unknown) => void) => void;
type NodeSyncClient = grpc.Client & { Enroll: Unary; Watch: () => grpc.ClientDuplexStream<unknown, unknown> };

/** The control plane's certificate names no host: it is checked against the pinned CA and its CN. */
const controlPlaneOnly = (_host: string, cert: PeerCertificate) =>
  cert.subject?.CN === 'keyd control plane' ? undefined : new Error(`unexpected certificate ${cert.subject?.CN}`);

const ADMIN_TOKEN = 'fleet-trust-admin-token-0123456789';

/**
 * The agent link's trust: the CA the control plane made at first start, join
 * tokens that carry its fingerprint and enroll one agent once, and Watch
 * only for a client certificate the CA issued to an enrolled node.
 */
describe('fleet trust: enrollment, single-use tokens and mutual TLS', () => {
  let stack: Stack;
  let nodes: NodesClient;
  let controlAddr: string;
  let caPem: Buffer;
  let pki: TestPki;

  const sync = (creds: grpc.ChannelCredentials): NodeSyncClient => {
    const pkg = keydPackage() as unknown as { keyd: { v1: { NodeSync: grpc.ServiceClientConstructor } } };
    return new pkg.keyd.v1.NodeSync(controlAddr, creds) as unknown as NodeSyncClient;
  };
  const pinned = (key: Buffer | null = null, cert: Buffer | null = null) =>
    grpc.credentials.createSsl(caPem, key, cert, { checkServerIdentity: controlPlaneOnly });
  /** A certificate request for a fresh key, as an agent makes one. */
  const csr = (name: string): { csr: string; key: Buffer } => {
    const key = join(stack.dir, `${name}.key`);
    const out = join(stack.dir, `${name}.csr`);
    execFileSync('openssl', [
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-subj',
      '/CN=keyd agent',
      '-keyout',
      key,
      '-out',
      out,
    ]);
    return { csr: readFileSync(out, 'utf8'), key: readFileSync(key) };
  };
  const enroll = (token: string, request: string) => {
    const client = sync(pinned());
    return new Promise<{ node_name: string; certificate_pem: string }>((resolve, reject) =>
      client.Enroll({ join_token: token, csr_pem: request }, { deadline: Date.now() + 10_000 }, (e, r) => {
        client.close();
        return e ? reject(e) : resolve(r as { node_name: string; certificate_pem: string });
      }),
    );
  };
  /** Opens Watch and answers the status the control plane ends it with. */
  const watchStatus = (client: NodeSyncClient) =>
    new Promise<number>((resolve) => {
      const call = client.Watch();
      call.on('data', () => undefined);
      call.on('error', (e: grpc.ServiceError) => resolve(e.code));
      call.write({ hello: { since_revision: 0 } });
    });
  const connected = async (name: string) => (await nodes.list()).nodes.find((n) => n.name === name)?.connected === true;
  /** Starts an agent under its own directory with a join token, as an operator would on the node's machine. */
  const agent = (name: string, joinToken: string) =>
    startAgentNode({ dir: stack.dir, name, controlAddr, joinToken, target: stack.target });
  /** A node created and its agent started with the node's token, connected. */
  const connectedAgent = async (name: string) => {
    const { join_token } = await nodes.create(name, 4431);
    const node = await agent(name, join_token);
    await eventually(() => connected(name), 15_000);
    return { join_token, node };
  };

  beforeAll(async () => {
    controlAddr = await fleetListen();
    stack = await startStack({
      name: 'fleet-trust',
      env: { KEYD_FLEET_LISTEN: controlAddr, KEYD_ADMIN_TOKEN: ADMIN_TOKEN },
    });
    nodes = new NodesClient(stack.keyd.grpcAddr);
    caPem = readFileSync(join(stack.dir, 'fleet-ca.crt'));
    pki = makeTestPki(stack.dir);
  }, 60_000);

  afterAll(async () => {
    nodes?.close();
    await stack?.teardown();
  });

  it('keeps the CA key private, and puts the CA fingerprint in every join token', async () => {
    const mode = statSync(join(stack.dir, 'fleet-ca.key')).mode & 0o777;
    expect(mode).toBe(0o600);
    const fingerprint = createHash('sha256').update(new X509Certificate(caPem).raw).digest('hex');
    const { join_token } = await nodes.create('node-fp', 4431);
    expect(join_token).toMatch(new RegExp(`^keyd1\\.[A-Za-z0-9_-]{43}\\.${fingerprint}$`));
  });

  it('a join token enrolls one agent, once: a second enrollment and a second agent with it are refused', async () => {
    const { join_token, node: first } = await connectedAgent('node-a');
    expect(readFileSync(join(stack.dir, 'node-a', 'agent.crt'), 'utf8')).toContain('BEGIN CERTIFICATE');

    await expect(enroll(join_token, csr('again').csr)).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });

    const copy = await agent('node-a-copy', join_token);
    await eventually(async () => /enrollment refused/.test(copy.agent.logs()), 15_000);
    expect(copy.agent.logs()).toContain('the control plane refused the join token');
    expect(copy.agent.logs()).not.toContain(join_token);
    // The first agent still holds the node, over its own certificate, across a restart without the token being valid.
    await first.agent.kill('SIGTERM');
    await first.agent.start();
    await eventually(() => connected('node-a'), 15_000);
  });

  it('an agent that lost its enrollment answer retries with the key it kept, and gets in', async () => {
    const { join_token } = await nodes.create('node-r', 4431);
    const request = csr('node-r');
    // The enrollment went through, but the answer never reached the agent: only its key was kept.
    await enroll(join_token, request.csr);
    mkdirSync(join(stack.dir, 'node-r'), { recursive: true });
    writeFileSync(join(stack.dir, 'node-r', 'agent.key'), request.key, { mode: 0o600 });
    await agent('node-r', join_token);
    await eventually(() => connected('node-r'), 15_000);
  });

  it('Watch refuses a client without a certificate, with one from another CA, or without TLS', async () => {
    const none = sync(pinned());
    expect(await watchStatus(none)).toBe(grpc.status.UNAUTHENTICATED);
    none.close();

    const foreign = sync(pinned(pki.read(pki.foreignKey), pki.read(pki.foreignCert)));
    expect(await watchStatus(foreign)).toBe(grpc.status.UNAUTHENTICATED);
    foreign.close();

    const plain = sync(grpc.credentials.createInsecure());
    expect(await watchStatus(plain)).toBe(grpc.status.UNAVAILABLE);
    plain.close();
  });

  it("an agent whose token carries another CA's fingerprint refuses the control plane and never spends the token", async () => {
    const { join_token } = await nodes.create('node-b', 4431);
    const forged = `${join_token.slice(0, join_token.lastIndexOf('.') + 1)}${'0'.repeat(64)}`;
    const refused = await agent('node-b', forged);
    await eventually(async () => /enrollment refused/.test(refused.agent.logs()), 15_000);
    expect(refused.agent.logs()).toContain("the control plane's CA does not match the join token's fingerprint");
    expect(await connected('node-b')).toBe(false);
    // The secret never left the agent: the real token still enrolls.
    await expect(enroll(join_token, csr('node-b').csr)).resolves.toMatchObject({ node_name: 'node-b' });
  });

  it('answers bytes that are not an EnrollRequest with INVALID_ARGUMENT, and goes on enrolling', async () => {
    const { join_token } = await nodes.create('node-bytes', 4431);
    const raw = new grpc.Client(controlAddr, pinned());
    const send = (bytes: Buffer) => unaryStatus(raw, '/keyd.v1.NodeSync/Enroll', bytes);
    try {
      // join_token (a string) with the reserved wire type 7; then a length past the end.
      const token = Buffer.from(join_token);
      expect(await send(Buffer.from([0x0f, token.length, ...token]))).toBe(grpc.status.INVALID_ARGUMENT);
      expect(await send(Buffer.from([0x0a, 0x7f, 0x61]))).toBe(grpc.status.INVALID_ARGUMENT);
    } finally {
      raw.close();
    }
    await expect(enroll(join_token, csr('node-bytes').csr)).resolves.toMatchObject({ node_name: 'node-bytes' });
  });

  it('a node whose agent is gone for good is deleted with force, and its certificate is refused from then on', async () => {
    const { node: gone } = await connectedAgent('node-gone');
    await gone.agent.kill('SIGKILL');
    await eventually(async () => !(await connected('node-gone')), 15_000);

    // A plain delete waits for a drain that never comes.
    expect(await nodes.remove('node-gone')).toMatchObject({ name: 'node-gone', draining: true });
    const del = (query: string) =>
      fetch(`${stack.keyd.httpUrl}/v1/nodes/node-gone${query}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
    const bad = await del('?force=maybe');
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('force');
    expect(await nodes.get('node-gone')).toMatchObject({ draining: true });

    const forced = await runKeyd(['node', 'rm', 'node-gone', '--force'], { KEYD_GRPC_LISTEN: stack.keyd.grpcAddr });
    expect(forced.stdout).toContain('deleted node-gone');
    await expect(nodes.get('node-gone')).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    expect((await nodes.list()).nodes.map((n) => n.name)).not.toContain('node-gone');
    expect((await del('?force=true')).status).toBe(404);

    await gone.agent.start();
    await eventually(async () => /control plane refused this node/.test(gone.agent.logs()), 15_000);
  });

  it('a connected node deleted with force loses its link at once, and its agent is refused from then on', async () => {
    const { node: live } = await connectedAgent('node-live');
    expect(await nodes.remove('node-live', true)).toMatchObject({ name: 'node-live', draining: false });
    await eventually(async () => /control plane refused this node/.test(live.agent.logs()), 15_000);
  });
});
