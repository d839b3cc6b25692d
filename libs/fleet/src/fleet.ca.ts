import 'reflect-metadata';
import { createHash, webcrypto, X509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { InvalidArgumentError } from '@keyd/domain';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** The agent link's server certificate, as the agent checks it: it carries no host name. */
export const CONTROL_PLANE_CN = 'keyd control plane';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
const PEM_BLOCK = (label: string) => new RegExp(`-----BEGIN ${label}-----[\\s\\S]+?-----END ${label}-----`);

/** The sha256 of a certificate's DER, as a join token carries it (like kubeadm's discovery hash). */
export const certFingerprint = (pem: string): string =>
  createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');

const serial = () =>
  Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
    .toString('hex')
    .replace(/^[89a-f]/, '1');

/**
 * The control plane's certificate authority: made at first start next to the
 * database, its key readable by keyd's user only. It signs the agent link's
 * server certificate and every enrolled agent's client certificate.
 */
export class FleetCa {
  private constructor(
    readonly certPem: string,
    private readonly keys: webcrypto.CryptoKeyPair,
  ) {}

  /**
   * The key file holds the key and the certificate together, created in one
   * exclusive link of a complete file: a crash leaves either no CA or a whole
   * one, and two starts racing never both make one. `fleet-ca.crt` is a copy
   * of the certificate, rewritten at each start, for operators.
   */
  static async openOrCreate(dir: string, now: Date): Promise<FleetCa> {
    const keyPath = join(dir, 'fleet-ca.key');
    const bundle = (await fs.readFile(keyPath, 'utf8').catch(() => null)) ?? (await FleetCa.create(dir, keyPath, now));
    const keyPem = PEM_BLOCK('PRIVATE KEY').exec(bundle)?.[0];
    const certPem = PEM_BLOCK('CERTIFICATE').exec(bundle)?.[0];
    if (!keyPem || !certPem) throw new Error(`${keyPath} does not hold the fleet CA's key and certificate`);
    const cert = new x509.X509Certificate(certPem);
    const privateKey = await webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(keyPem), ALG, false, [
      'sign',
    ]);
    const publicKey = await cert.publicKey.export(ALG, ['verify']);
    const tmp = join(dir, `fleet-ca.crt.${serial()}.tmp`);
    await fs.writeFile(tmp, `${certPem}\n`, { mode: 0o600 });
    await fs.rename(tmp, join(dir, 'fleet-ca.crt'));
    return new FleetCa(`${certPem}\n`, { privateKey, publicKey } as webcrypto.CryptoKeyPair);
  }

  private static async create(dir: string, keyPath: string, now: Date): Promise<string> {
    const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: 'CN=keyd fleet CA',
      notBefore: new Date(now.getTime() - DAY_MS),
      notAfter: new Date(now.getTime() + 3650 * DAY_MS),
      keys,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      ],
    });
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
    const bundle = `${x509.PemConverter.encode(pkcs8, 'PRIVATE KEY')}\n${cert.toString('pem')}\n`;
    const tmp = `${keyPath}.${serial()}.tmp`;
    await fs.writeFile(tmp, bundle, { mode: 0o600, flag: 'wx' });
    try {
      await fs.link(tmp, keyPath);
    } catch (e) {
      // Another start linked its CA first: that one is the CA.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      return fs.readFile(keyPath, 'utf8');
    } finally {
      await fs.rm(tmp, { force: true });
    }
    return bundle;
  }

  get fingerprint(): string {
    return certFingerprint(this.certPem);
  }

  /** Signs a certificate request's key as the node `name`; a request whose signature does not verify is refused. */
  async signClient(request: x509.Pkcs10CertificateRequest, name: string, now: Date): Promise<string> {
    if (!(await request.verify())) throw new InvalidArgumentError('csr_pem', 'is not signed by its own key');
    return this.issue(name, request.publicKey, now, [x509.ExtendedKeyUsage.clientAuth]);
  }

  /** The agent link's own certificate, issued at each start. */
  async serverCert(now: Date): Promise<{ certPem: string; keyPem: string }> {
    const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const certPem = await this.issue(
      CONTROL_PLANE_CN,
      new x509.PublicKey(await webcrypto.subtle.exportKey('spki', keys.publicKey)),
      now,
      [x509.ExtendedKeyUsage.serverAuth],
    );
    const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
    return { certPem, keyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY') };
  }

  /** True when the certificate was signed by this CA and is within its validity. */
  signed(certPem: string, now: Date): boolean {
    const cert = new X509Certificate(certPem);
    const ca = new X509Certificate(this.certPem);
    return (
      cert.checkIssued(ca) &&
      cert.verify(ca.publicKey) &&
      new Date(cert.validFrom) <= now &&
      now <= new Date(cert.validTo)
    );
  }

  private async issue(cn: string, publicKey: x509.PublicKey, now: Date, usages: string[]): Promise<string> {
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: `CN=${cn}`,
      issuer: new x509.X509Certificate(this.certPem).subject,
      notBefore: new Date(now.getTime() - DAY_MS),
      notAfter: new Date(now.getTime() + 825 * DAY_MS),
      signingAlgorithm: ALG,
      publicKey,
      signingKey: this.keys.privateKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.ExtendedKeyUsageExtension(usages, true),
      ],
    });
    return cert.toString('pem');
  }
}
