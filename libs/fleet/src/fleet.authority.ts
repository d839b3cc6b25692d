import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { dirname } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { KEYD_CONFIG, KeydConfig } from '@keyd/config';
import { CLOCK, Clock, InvalidArgumentError, UnauthenticatedError } from '@keyd/domain';
import { FleetNodeRecord, FleetRepository } from '@keyd/store';
import * as x509 from '@peculiar/x509';
import { FleetCa } from './fleet.ca';
import { formatJoinToken, parseJoinToken } from './join.token';

export interface Enrollment {
  nodeName: string;
  certificatePem: string;
  caPem: string;
}

/** A certificate's fingerprint, or a key's (of its SubjectPublicKeyInfo), as nodes are known by. */
export const sha256Hex = (der: Buffer): string => createHash('sha256').update(der).digest('hex');
const REFUSED = 'unknown join token, or one another agent enrolled with';

/**
 * One identity and CA for grpc-js, fixed for the life of the listener. They
 * are handed over after the listener subscribes, not during: grpc-js
 * registers its watcher only once the subscription returns, and an update
 * delivered before that is never applied (every connection is dropped).
 */
function fixedCertificates(chainPem: string, keyPem: string, caPem: string): grpc.experimental.CertificateProvider {
  const identity = { certificate: Buffer.from(chainPem), privateKey: Buffer.from(keyPem) };
  const ca = { caCertificate: Buffer.from(caPem) };
  return {
    addCaCertificateListener: (l) => queueMicrotask(() => l(ca)),
    removeCaCertificateListener: () => undefined,
    addIdentityCertificateListener: (l) => queueMicrotask(() => l(identity)),
    removeIdentityCertificateListener: () => undefined,
  };
}

/**
 * The fleet's trust: the CA (made at first start next to the database), join
 * tokens that carry its fingerprint, enrollment of an agent's certificate
 * request (a token enrolls the first key that uses it, and only that key), and
 * the agent link's TLS.
 */
@Injectable()
export class FleetAuthority implements OnModuleInit {
  private ca?: FleetCa;

  constructor(
    private readonly repo: FleetRepository,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(KEYD_CONFIG) private readonly config: Pick<KeydConfig, 'db'>,
  ) {}

  async onModuleInit(): Promise<void> {
    this.ca = await FleetCa.openOrCreate(dirname(this.config.db.path), this.clock.now());
  }

  private authority(): FleetCa {
    if (!this.ca) throw new Error('the fleet CA is not open yet');
    return this.ca;
  }

  /** A new node's secret and the token that carries it; only the secret's digest is stored. */
  newJoinToken(): { secret: string; token: string } {
    const secret = randomBytes(32).toString('base64url');
    return { secret, token: formatJoinToken({ secret, caFingerprint: this.authority().fingerprint }) };
  }

  /**
   * Signs the agent's request as its node. The first key to enroll with a
   * token is bound to the node, so a second agent with the same token is
   * refused; the same key may enroll again, since an agent that lost the
   * answer (or crashed before keeping it) retries with the key it kept.
   */
  async enroll(token: string, csrPem: string): Promise<Enrollment> {
    const parsed = parseJoinToken(token);
    const ca = this.authority();
    if (!parsed || parsed.caFingerprint !== ca.fingerprint) throw new UnauthenticatedError(REFUSED);
    const node = await this.repo.byJoinToken(parsed.secret);
    if (!node) throw new UnauthenticatedError(REFUSED);
    let request: x509.Pkcs10CertificateRequest;
    try {
      request = new x509.Pkcs10CertificateRequest(csrPem);
    } catch {
      throw new InvalidArgumentError('csr_pem', 'is not a PEM certificate request');
    }
    const now = this.clock.now();
    // Signing checks that the caller holds the key, so that comes before the key is bound to the node. A
    // certificate signed for a key that then loses the binding is refused by Watch, which knows nodes by key.
    const certificatePem = await ca.signClient(request, node.name, now);
    if (!(await this.repo.bindKey(node.id, sha256Hex(Buffer.from(request.publicKey.rawData)), now)))
      throw new UnauthenticatedError(REFUSED);
    return { nodeName: node.name, certificatePem, caPem: ca.certPem };
  }

  /** The node an agent's client certificate was issued to, or null. */
  async nodeOf(call: grpc.ServerDuplexStream<unknown, unknown>): Promise<FleetNodeRecord | null> {
    const peer = call.getAuthContext().sslPeerCertificate;
    if (!peer?.raw) return null;
    const cert = new X509Certificate(peer.raw);
    // TLS asks for a certificate without rejecting one (Enroll needs none), so its issuer and dates are checked here.
    if (!this.authority().signed(cert.toString(), this.clock.now())) return null;
    return this.repo.byKey(sha256Hex(cert.publicKey.export({ type: 'spki', format: 'der' })));
  }

  /**
   * TLS for the agent link: the server certificate with the CA after it, so an
   * agent can check the CA against its token before trusting it. Client
   * certificates are asked for but not required, because Enroll is served to
   * agents that have none yet; Watch checks the one presented.
   */
  async serverCredentials(): Promise<grpc.ServerCredentials> {
    const ca = this.authority();
    const server = await ca.serverCert(this.clock.now());
    const certs = fixedCertificates(`${server.certPem.trimEnd()}\n${ca.certPem}`, server.keyPem, ca.certPem);
    return grpc.experimental.createCertificateProviderServerCredentials(certs, certs, false);
  }
}
