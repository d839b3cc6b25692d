import 'reflect-metadata';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { FleetCa } from './fleet.ca';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

async function csr(name: string): Promise<x509.Pkcs10CertificateRequest> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const req = await x509.Pkcs10CertificateRequestGenerator.create({ name: `CN=${name}`, keys, signingAlgorithm: ALG });
  return req;
}

describe('FleetCa', () => {
  const now = new Date();
  let dir: string;
  beforeEach(async () => (dir = await fs.mkdtemp(join(tmpdir(), 'keyd-ca-'))));
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  it('is created once, its key private, and reopened with the same fingerprint', async () => {
    const ca = await FleetCa.openOrCreate(dir, now);
    expect((await fs.stat(join(dir, 'fleet-ca.key'))).mode & 0o777).toBe(0o600);
    const again = await FleetCa.openOrCreate(dir, now);
    expect(again.fingerprint).toBe(ca.fingerprint);
    expect(again.signed(await again.signClient(await csr('a'), 'a', now), now)).toBe(true);
  });

  it('signs client requests, and refuses certificates of another CA', async () => {
    const ca = await FleetCa.openOrCreate(dir, now);
    const other = await FleetCa.openOrCreate(join(dir, 'other'), now);
    const cert = await ca.signClient(await csr('n1'), 'n1', now);
    expect(ca.signed(cert, now)).toBe(true);
    expect(other.signed(cert, now)).toBe(false);
  });

  it('is one CA when two starts race to make it, and its certificate copy matches', async () => {
    const [a, b] = await Promise.all([FleetCa.openOrCreate(dir, now), FleetCa.openOrCreate(dir, now)]);
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(await fs.readFile(join(dir, 'fleet-ca.crt'), 'utf8')).toBe(a.certPem);
    expect((await fs.readdir(dir)).sort()).toEqual(['fleet-ca.crt', 'fleet-ca.key']);
  });

  it('refuses a request not signed by the key it names', async () => {
    const ca = await FleetCa.openOrCreate(dir, now);
    const der = Buffer.from((await csr('n2')).rawData);
    der[der.length - 1] ^= 0xff;
    await expect(ca.signClient(new x509.Pkcs10CertificateRequest(der), 'n2', now)).rejects.toThrow(
      'is not signed by its own key',
    );
  });
});
