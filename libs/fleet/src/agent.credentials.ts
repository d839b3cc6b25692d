import { createPrivateKey, createPublicKey, webcrypto, X509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import * as tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import * as x509 from '@peculiar/x509';
import { sha256Hex } from './fleet.authority';
import { CONTROL_PLANE_CN } from './fleet.ca';
import { nodeSyncService, WireEnrollRequest, WireEnrollResponse } from './fleet.protos';
import { parseJoinToken } from './join.token';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const CALL_MS = 10_000;

/** A reason the agent won't talk to this control plane with this token; retrying as is cannot help. */
export class EnrollmentRefusedError extends Error {}

interface Files {
  key: string;
  cert: string;
  ca: string;
}

type Enroll = (
  req: WireEnrollRequest,
  opts: grpc.CallOptions,
  cb: (e: grpc.ServiceError | null, r?: WireEnrollResponse) => void,
) => void;

const pemOf = (der: Buffer) => new X509Certificate(der).toString();

/** Accepts only the control plane's own certificate from the pinned CA: it carries no host name to check. */
const checkServer = (_host: string, cert: tls.PeerCertificate): Error | undefined =>
  cert.subject?.CN === CONTROL_PLANE_CN ? undefined : new Error('not the keyd control plane certificate');

/**
 * The agent's side of enrollment. On first start it reads the CA from the
 * control plane's TLS handshake and keeps it only if its SHA-256 is the one
 * in the join token; then it keeps a key made here, sends the token and a
 * certificate request for that key (again, with the same key, if an attempt
 * broke off), and keeps the certificate. Every later start, with or
 * without a control plane, uses the files: the key (0600), the certificate
 * and the CA, next to the local database.
 */
export class AgentCredentials {
  private readonly files: Files;

  constructor(
    private readonly controlAddr: string,
    private readonly joinToken: string,
    dbPath: string,
  ) {
    const dir = dirname(dbPath);
    this.files = { key: join(dir, 'agent.key'), cert: join(dir, 'agent.crt'), ca: join(dir, 'agent-ca.crt') };
  }

  /** mTLS credentials for the link, enrolling first when this node has no certificate yet. */
  async channel(): Promise<grpc.ChannelCredentials> {
    const stored = await this.read();
    const { key, cert, ca } = stored ?? (await this.enroll());
    return grpc.credentials.createSsl(Buffer.from(ca), Buffer.from(key), Buffer.from(cert), {
      checkServerIdentity: checkServer,
    });
  }

  private async read(): Promise<Files | null> {
    try {
      const [key, cert, ca] = await Promise.all([
        fs.readFile(this.files.key, 'utf8'),
        fs.readFile(this.files.cert, 'utf8'),
        fs.readFile(this.files.ca, 'utf8'),
      ]);
      return { key, cert, ca };
    } catch {
      return null;
    }
  }

  private async enroll(): Promise<Files> {
    const token = parseJoinToken(this.joinToken);
    if (!token) throw new EnrollmentRefusedError('KEYD_JOIN_TOKEN is not a keyd join token');
    const caPem = await this.discoverCa(token.caFingerprint);
    // The key is kept before it is enrolled: the control plane binds the node to the first key that enrolls,
    // so an agent that loses the answer, or stops before keeping it, must retry with the same key.
    const keyPem = await this.key();
    const privateKey = await webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(keyPem), ALG, true, [
      'sign',
    ]);
    const spki = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
    const publicKey = await webcrypto.subtle.importKey('spki', spki, ALG, true, ['verify']);
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: 'CN=keyd agent',
      keys: { privateKey, publicKey },
      signingAlgorithm: ALG,
    });
    const res = await this.call(caPem, { join_token: this.joinToken, csr_pem: csr.toString('pem') });
    await writeFileAtomic(this.files.cert, res.certificate_pem);
    // The CA last: its presence says the other two are complete.
    await writeFileAtomic(this.files.ca, caPem);
    return { key: keyPem, cert: res.certificate_pem, ca: caPem };
  }

  /** This node's key: the one kept from an earlier attempt, or a new one, kept before it is used. */
  private async key(): Promise<string> {
    const kept = await fs.readFile(this.files.key, 'utf8').catch(() => null);
    if (kept) return kept;
    const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const pem = x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY');
    await writeFileAtomic(this.files.key, pem);
    return pem;
  }

  private async call(caPem: string, req: WireEnrollRequest): Promise<WireEnrollResponse> {
    const Service = nodeSyncService();
    const client = new Service(
      this.controlAddr,
      grpc.credentials.createSsl(Buffer.from(caPem), null, null, { checkServerIdentity: checkServer }),
    );
    try {
      const enroll = (client as unknown as { Enroll: Enroll }).Enroll.bind(client);
      return await new Promise<WireEnrollResponse>((resolve, reject) =>
        enroll(req, { deadline: Date.now() + CALL_MS }, (e, r) =>
          e || !r ? reject(e ?? new Error('no enrollment answer')) : resolve(r),
        ),
      );
    } catch (e) {
      if ((e as grpc.ServiceError).code === grpc.status.UNAUTHENTICATED)
        throw new EnrollmentRefusedError(
          'the control plane refused the join token (unknown, or another agent enrolled with it)',
        );
      throw e;
    } finally {
      client.close();
    }
  }

  /** The CA certificate the control plane sends after its own, if its SHA-256 is the token's. */
  private discoverCa(fingerprint: string): Promise<string> {
    const [host, port] = splitHostPort(this.controlAddr);
    return new Promise((resolve, reject) => {
      // Nothing is sent on this connection: it only reads the certificates the control plane presents.
      const socket = tls.connect({ host, port, rejectUnauthorized: false, ALPNProtocols: ['h2'] });
      socket.setTimeout(CALL_MS, () => socket.destroy(new Error('no TLS answer from the control plane')));
      socket.once('error', reject);
      socket.once('secureConnect', () => {
        let cert: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
        const seen = new Set<string>();
        let found: string | null = null;
        while (cert?.raw && !seen.has(cert.fingerprint256)) {
          seen.add(cert.fingerprint256);
          if (sha256Hex(cert.raw) === fingerprint) found = pemOf(cert.raw);
          cert = cert.issuerCertificate;
        }
        socket.destroy();
        if (found) resolve(found);
        else
          reject(
            new EnrollmentRefusedError(
              "the control plane's CA does not match the join token's fingerprint: not the control plane the token is for",
            ),
          );
      });
    });
  }
}

/** Private, and complete or absent: written under a temporary name, then renamed. */
async function writeFileAtomic(path: string, content: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await fs.writeFile(tmp, content, { mode: 0o600 });
  await fs.rename(tmp, path);
}

function splitHostPort(addr: string): [string, number] {
  const i = addr.lastIndexOf(':');
  return [addr.slice(0, i).replace(/^\[|\]$/g, ''), Number(addr.slice(i + 1))];
}
