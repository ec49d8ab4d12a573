/** Throw-away TLS certificates for the stores a test runs of its own (Redis, Postgres). */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand as run } from './processes.ts';

export interface TestCertificates {
  /** The CA's certificate (PEM): what clients trust. */
  caFile: string;
  /** The server's certificate, signed by the CA, for 127.0.0.1 and localhost. */
  certFile: string;
  keyFile: string;
}

/**
 * A throw-away CA and a server certificate it signed for 127.0.0.1 and
 * localhost, written into `dir` (openssl; Debian's postgresql package pulls
 * it in).
 */
export async function makeTestCertificates(dir: string): Promise<TestCertificates> {
  const file = (name: string) => join(dir, name);
  const [caKey, caFile, keyFile, csr, certFile, ext] = [
    file('ca.key'),
    file('ca.crt'),
    file('server.key'),
    file('server.csr'),
    file('server.crt'),
    file('server.ext'),
  ];
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ca = [
    '-subj',
    '/CN=chat test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ];
  await run('openssl', ['req', '-x509', ...ecKey, ...ca, '-days', '2', '-keyout', caKey, '-out', caFile]);
  await run('openssl', ['req', ...ecKey, '-subj', '/CN=127.0.0.1', '-keyout', keyFile, '-out', csr]);
  writeFileSync(ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    caFile,
    '-CAkey',
    caKey,
    '-CAcreateserial',
    '-days',
    '2',
    '-out',
    certFile,
    '-extfile',
    ext,
  ]);
  chmodSync(keyFile, 0o600); // servers refuse a key others may read
  return { caFile, certFile, keyFile };
}
