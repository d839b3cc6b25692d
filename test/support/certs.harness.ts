import { execFileSync } from 'child_process';
import { readFileSync, writeFileSync } from 'fs';
import { join } from 'path';

export interface TestPki {
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A client certificate from a CA keyd doesn't trust. */
  foreignCert: string;
  foreignKey: string;
  read(path: string): Buffer;
}

const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });

function ca(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  openssl(
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1'].concat([
      '-subj',
      `/CN=${name}`,
      '-keyout',
      key,
      '-out',
      cert,
    ]),
  );
  return { cert, key };
}

function leaf(
  dir: string,
  name: string,
  signer: { cert: string; key: string },
  ext: string,
): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  openssl(
    ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${name}`].concat([
      '-keyout',
      key,
      '-out',
      csr,
    ]),
  );
  const extFile = join(dir, `${name}.ext`);
  writeFileSync(extFile, ext);
  openssl(
    ['x509', '-req', '-in', csr, '-CA', signer.cert, '-CAkey', signer.key, '-CAcreateserial', '-days', '1'].concat([
      '-extfile',
      extFile,
      '-out',
      cert,
    ]),
  );
  return { cert, key };
}

/** A throwaway CA, a server certificate for 127.0.0.1, and client certificates, made with openssl in dir. */
export function makeTestPki(dir: string): TestPki {
  const root = ca(dir, 'keyd-test-ca');
  const foreignRoot = ca(dir, 'foreign-ca');
  const server = leaf(dir, 'server', root, 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  const client = leaf(dir, 'client', root, 'extendedKeyUsage=clientAuth\n');
  const foreign = leaf(dir, 'foreign-client', foreignRoot, 'extendedKeyUsage=clientAuth\n');
  return {
    caCert: root.cert,
    serverCert: server.cert,
    serverKey: server.key,
    clientCert: client.cert,
    clientKey: client.key,
    foreignCert: foreign.cert,
    foreignKey: foreign.key,
    read: (path) => readFileSync(path),
  };
}
