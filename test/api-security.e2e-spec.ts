import * as grpc from '@grpc/grpc-js';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { makeTestPki, TestPki } from './support/certs.harness';
import { CoreProcess, startCore } from './support/core.harness';
import { createKeyd, grpcCode, KeydClient, KeydProcess } from './support/keyd.harness';
import { stopAll } from './support/processes.harness';

const DAY = 86_400;
const API_TOKEN = 'api-token-for-the-security-suite-01';

describe('the APIs are safe by default', () => {
  let dir: string;
  let core: CoreProcess;
  let pki: TestPki;
  let n = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keyd-e2e-security-'));
    pki = makeTestPki(dir);
    core = await startCore({ dir });
  });
  afterAll(async () => {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A keyd of its own (database, ports) on the shared core. */
  async function keydWith(env: Record<string, string>): Promise<KeydProcess> {
    const own = join(dir, `keyd-${++n}`);
    mkdirSync(own);
    return createKeyd({ dbPath: join(own, 'keyd.sqlite'), coreApiAddr: core.apiAddr, env });
  }
  const port = (k: KeydProcess) => k.grpcAddr.split(':')[1];

  describe('the gRPC API over TLS', () => {
    let keyd: KeydProcess;
    beforeAll(async () => {
      keyd = await keydWith({ KEYD_GRPC_TLS_CERT: pki.serverCert, KEYD_GRPC_TLS_KEY: pki.serverKey });
      await keyd.start();
    });
    afterAll(() => keyd.kill('SIGTERM'));

    it('answers a client that trusts its CA', async () => {
      const client = new KeydClient(keyd.grpcAddr, undefined, grpc.credentials.createSsl(pki.read(pki.caCert)));
      try {
        expect((await client.grant('tls-owner', DAY)).action).toBe('ISSUED');
      } finally {
        client.close();
      }
    });

    it('refuses a plain-text client', async () => {
      const client = new KeydClient(keyd.grpcAddr);
      try {
        expect(await grpcCode(client.grant('plain-owner', DAY))).toBe(grpc.status.UNAVAILABLE);
      } finally {
        client.close();
      }
    });
  });

  describe('the gRPC API over mTLS', () => {
    let keyd: KeydProcess;
    beforeAll(async () => {
      keyd = await keydWith({
        KEYD_GRPC_TLS_CERT: pki.serverCert,
        KEYD_GRPC_TLS_KEY: pki.serverKey,
        KEYD_GRPC_TLS_CLIENT_CA: pki.caCert,
      });
      await keyd.start();
    });
    afterAll(() => keyd.kill('SIGTERM'));

    const clientWith = (cert?: string, key?: string) =>
      new KeydClient(
        keyd.grpcAddr,
        undefined,
        grpc.credentials.createSsl(pki.read(pki.caCert), key ? pki.read(key) : null, cert ? pki.read(cert) : null),
      );

    it('answers a client with a certificate the client CA signed', async () => {
      const client = clientWith(pki.clientCert, pki.clientKey);
      try {
        expect((await client.grant('mtls-owner', DAY)).action).toBe('ISSUED');
      } finally {
        client.close();
      }
    });

    it.each([
      ['no certificate', undefined, undefined],
      ['a certificate from another CA', 'foreignCert', 'foreignKey'],
    ] as const)('refuses a client with %s, and grants nothing', async (_name, cert, key) => {
      const client = clientWith(cert && pki[cert], key && pki[key]);
      const good = clientWith(pki.clientCert, pki.clientKey);
      try {
        expect(await grpcCode(client.grant(`refused-${_name}`, DAY))).toBe(grpc.status.UNAVAILABLE);
        expect(await grpcCode(good.get(`refused-${_name}`))).toBe(grpc.status.NOT_FOUND);
      } finally {
        client.close();
        good.close();
      }
    });
  });

  describe('a gRPC listener off loopback', () => {
    it('is refused without KEYD_API_TOKEN, and the message names it', async () => {
      const keyd = await keydWith({});
      keyd.env.KEYD_GRPC_LISTEN = `0.0.0.0:${port(keyd)}`;
      await keyd.start({ waitReady: false });
      expect(await keyd.exitCode()).toBe(2);
      expect(keyd.logs()).toMatch(/KEYD_API_TOKEN: required when KEYD_GRPC_LISTEN \(0\.0\.0\.0\) is not a loopback/);
    });

    it('is served without a token when KEYD_ALLOW_UNAUTHENTICATED_GRPC=true, with a warning', async () => {
      const keyd = await keydWith({ KEYD_ALLOW_UNAUTHENTICATED_GRPC: 'true' });
      keyd.env.KEYD_GRPC_LISTEN = `0.0.0.0:${port(keyd)}`;
      await keyd.start();
      const client = keyd.client();
      try {
        expect((await client.grant('open-owner', DAY)).action).toBe('ISSUED');
        expect(keyd.logs()).toContain('the gRPC API takes calls from the network without a token');
      } finally {
        client.close();
        await keyd.kill('SIGTERM');
      }
    });

    it('warns at start when the token would cross it in plain text', async () => {
      const keyd = await keydWith({ KEYD_API_TOKEN: API_TOKEN });
      keyd.env.KEYD_GRPC_LISTEN = `0.0.0.0:${port(keyd)}`;
      await keyd.start();
      try {
        expect(keyd.logs()).toContain('KEYD_API_TOKEN crosses a non-loopback gRPC listener in plain text');
      } finally {
        await keyd.kill('SIGTERM');
      }
    });

    it('warns at start when the admin token would cross an admin HTTP listener off loopback', async () => {
      const keyd = await keydWith({});
      keyd.env.KEYD_HTTP_LISTEN = `0.0.0.0:${new URL(keyd.httpUrl).port}`;
      await keyd.start();
      try {
        expect(keyd.logs()).toContain('the admin token crosses a non-loopback HTTP listener in plain text');
      } finally {
        await keyd.kill('SIGTERM');
      }
    });
  });

  describe('admin.token read at start', () => {
    it.each([
      [
        'readable by others',
        'a-good-long-admin-token-0123456789\n',
        0o644,
        /can be read or written by users other than keyd's \(mode 0644\): run chmod 600/,
      ],
      ['empty', '\n', 0o600, /holds no token; it needs 16 characters/],
      ['short', 'short\n', 0o600, /holds a token shorter than 16 characters/],
    ])('stops keyd when the file is %s', async (_name, content, mode, message) => {
      const keyd = await keydWith({});
      const file = join(keyd.env.KEYD_DB_PATH, '..', 'admin.token');
      writeFileSync(file, content);
      chmodSync(file, mode);
      await keyd.start({ waitReady: false });
      expect(await keyd.exitCode()).toBe(1);
      expect(keyd.logs()).toMatch(message);
    });
  });
});
